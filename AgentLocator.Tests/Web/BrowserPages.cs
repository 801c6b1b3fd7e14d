using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace AgentLocator.Tests.Web;

/// <summary>What the browser tests do on every page: wait for the interactive circuit, screenshot it, audit it with axe-core.</summary>
internal static class BrowserPages
{
    /// <summary>The layout marks <c>main</c> once the page runs interactively (typing before that would be lost).</summary>
    public static Task WaitInteractiveAsync(this IPage page) => page.Locator("main[data-interactive]").WaitForAsync();

    public static async Task CaptureAsync(this IPage page, WebGraphFixture fixture, string name)
    {
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(fixture.ArtifactsDirectory, name + ".png"), FullPage = true });
    }

    /// <summary>
    /// axe-core's WCAG 2.1 A/AA rules find nothing on the page at rest: after its CSS transitions have ended, and if axe finds
    /// something, again a second later, where what it found must still be there. A full-suite run at load about 10 once had axe
    /// report colour contrast on all three Fluent buttons of the call page right after the owner saved a note, which the
    /// run before and the run after passed: most likely a page caught between two states, which the owner never looks at. A real
    /// contrast or labelling fault is there on both looks.
    /// </summary>
    public static async Task AssertAccessibleAsync(this IPage page, string name)
    {
        var violations = await AxeViolationsAtRestAsync(page);
        if (violations.Count > 0)
        {
            await page.WaitForTimeoutAsync(1000);
            violations = await AxeViolationsAtRestAsync(page);
        }

        Assert.True(violations.Count == 0, $"axe-core on the {name} page:\n{string.Join('\n', violations)}");
    }

    private static async Task<List<string>> AxeViolationsAtRestAsync(IPage page)
    {
        await page.WaitForFunctionAsync(
            "() => document.getAnimations().every(a => !(a instanceof CSSTransition) || a.playState !== 'running')");
        var results = await page.RunAxe(new Deque.AxeCore.Commons.AxeRunOptions
        {
            RunOnly = new Deque.AxeCore.Commons.RunOnlyOptions { Type = "tag", Values = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
        });
        return results.Violations.Select(v =>
            $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(" | ", v.Nodes.Take(3).Select(n => string.Join(" ", n.Target?.ToString() ?? "") + " " + n.Html))}").ToList();
    }

    /// <summary>
    /// The text box inside a Fluent input (<c>fluent-text-input</c>, <c>fluent-textarea</c>) by its label: the web component
    /// and its inner control both carry the label, and only the control can be typed into.
    /// </summary>
    public static ILocator FluentInput(this IPage page, string label, bool exact = false) =>
        page.GetByLabel(label, new PageGetByLabelOptions { Exact = exact }).And(page.Locator("input, textarea"));

    /// <summary>A Fluent button (a web component) by its text.</summary>
    public static ILocator FluentButton(this IPage page, string text) =>
        page.Locator("fluent-button", new PageLocatorOptions { HasTextString = text });
}
