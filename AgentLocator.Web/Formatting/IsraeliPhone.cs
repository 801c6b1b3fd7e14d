namespace AgentLocator.Web.Formatting;

/// <summary>Phone numbers as Israelis write them: +972501234567 → 050-123-4567, +97231234567 → 03-123-4567.</summary>
public static class IsraeliPhone
{
    public static string Format(string? number)
    {
        if (string.IsNullOrWhiteSpace(number))
        {
            return "";
        }
        var trimmed = number.Trim();
        if (trimmed.StartsWith("whatsapp:", StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed["whatsapp:".Length..];
        }
        if (!trimmed.StartsWith("+972", StringComparison.Ordinal) || !trimmed[4..].All(char.IsAsciiDigit))
        {
            return trimmed;
        }
        var local = "0" + trimmed[4..];
        return local.Length switch
        {
            // Mobile (05x) and nationwide (07x) numbers: 050-123-4567.
            10 => $"{local[..3]}-{local[3..6]}-{local[6..]}",
            // Landlines (02, 03, 04, 08, 09): 03-123-4567.
            9 => $"{local[..2]}-{local[2..5]}-{local[5..]}",
            _ => local,
        };
    }
}
