using System.Globalization;

namespace AgentLocator.Web.Formatting;

/// <summary>Times in the business's time zone, written the Israeli way (01/12/2026 09:05).</summary>
public static class BusinessClock
{
    public static TimeZoneInfo Zone(string? timeZoneId) =>
        timeZoneId is { Length: > 0 } && TimeZoneInfo.TryFindSystemTimeZoneById(timeZoneId, out var zone) ? zone : TimeZoneInfo.Utc;

    public static DateTimeOffset ToLocal(DateTimeOffset at, TimeZoneInfo zone) => TimeZoneInfo.ConvertTime(at, zone);

    public static string Format(DateTimeOffset? at, TimeZoneInfo zone) =>
        at is { } value ? ToLocal(value, zone).ToString("dd/MM/yyyy HH:mm", CultureInfo.InvariantCulture) : "";

    public static string FormatTime(DateTimeOffset? at, TimeZoneInfo zone) =>
        at is { } value ? ToLocal(value, zone).ToString("HH:mm:ss", CultureInfo.InvariantCulture) : "";

    /// <summary>The instant a local calendar day starts in <paramref name="zone"/>.</summary>
    public static DateTimeOffset StartOfDay(DateOnly day, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }
}
