using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgentLocator.Smoke;

/// <summary>The report as a table for a person (one line per check, then GO or NO-GO) or as JSON for a pipeline.</summary>
public static class SmokeReportWriter
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string ToJson(SmokeReport report) => JsonSerializer.Serialize(report, Json);

    public static string ToTable(SmokeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var width = Math.Max("check".Length, report.Checks.Count == 0 ? 0 : report.Checks.Max(c => c.Name.Length));
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"AgentLocator smoke — {report.Target} ({report.Environment ?? "environment unknown"}), {report.StartedAt:u}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"{"",-4}  {"check".PadRight(width)}  {"ms",8}  detail");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"",-4}  {new string('-', width)}  {"--------",8}  ------");
        foreach (var check in report.Checks)
        {
            var ms = check.Skipped ? "-" : check.Ms.ToString("0", CultureInfo.InvariantCulture);
            text.AppendLine(CultureInfo.InvariantCulture, $"{check.Status,-4}  {check.Name.PadRight(width)}  {ms,8}  {check.Detail}");
        }
        text.AppendLine();
        var passed = report.Checks.Count(c => c.Ok && !c.Skipped);
        var failed = report.Failed.Count();
        var skipped = report.Skipped.Count();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"{report.Verdict}: {passed} passed, {failed} failed, {skipped} skipped in {report.TotalMs / 1000:0.0} s");
        if (failed > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"failed: {string.Join(", ", report.Failed.Select(c => c.Name))}");
        }
        return text.ToString();
    }
}
