using AgentLocator.Web.Api;
using AgentLocator.Web.Formatting;
using AgentLocator.Web.Identity;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace AgentLocator.Web.Components.Shared;

/// <summary>
/// A page of one business (<c>/b/{BusinessId}/…</c>): refuses a business the user may not see (as not-found, the same as
/// one that does not exist), loads the business, and gives its time zone.
/// </summary>
public abstract class BusinessPage : ComponentBase
{
    [Parameter]
    public Guid BusinessId { get; set; }

    [CascadingParameter]
    protected Task<AuthenticationState>? AuthenticationState { get; set; }

    [Inject]
    protected AgentLocatorApi Api { get; set; } = default!;

    protected BusinessDto? Business { get; private set; }

    protected TimeZoneInfo Zone { get; private set; } = TimeZoneInfo.Utc;

    /// <summary>True once the business is known to be out of the user's reach (or gone).</summary>
    protected bool Denied { get; private set; }

    protected ApiProblem? LoadProblem { get; set; }

    protected bool Loaded { get; set; }

    protected override async Task OnParametersSetAsync()
    {
        var user = AuthenticationState is null ? null : (await AuthenticationState).User;
        if (user is null || !BusinessAccess.CanAccess(user, BusinessId))
        {
            Denied = true;
            return;
        }
        var business = await Api.GetBusinessAsync(BusinessId, CancellationToken.None);
        if (business.NotFound)
        {
            Denied = true;
            return;
        }
        LoadProblem = business.Problem;
        Business = business.Value;
        Zone = BusinessClock.Zone(Business?.TimeZone);
        if (Business is not null)
        {
            await LoadAsync();
        }
        Loaded = true;
    }

    /// <summary>The page's own data, once the business is loaded and allowed.</summary>
    protected abstract Task LoadAsync();
}
