using System.Text;

namespace AgentLocator.Twilio.Twiml;

/// <summary>
/// Makes arbitrary text safe to put in an XML 1.0 document. Escaping (<c>&amp;</c>, <c>&lt;</c>,
/// quotes) is the writer's job; this removes what no escaping can express: control characters
/// other than tab, line feed and carriage return, U+FFFE/U+FFFF, and unpaired surrogates.
/// </summary>
public static class XmlTextSanitizer
{
    /// <summary>Returns <paramref name="text"/> without the characters XML 1.0 forbids (the same instance when it has none).</summary>
    public static string Sanitize(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        var firstInvalid = IndexOfInvalid(text);
        if (firstInvalid < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length);
        builder.Append(text, 0, firstInvalid);
        for (var i = firstInvalid; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[i + 1]);
                i++;
            }
            else if (IsValidSingle(c))
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static int IndexOfInvalid(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }

            if (!IsValidSingle(c))
            {
                return i;
            }
        }

        return -1;
    }

    // XML 1.0 Char production for a character that is not part of a surrogate pair.
    private static bool IsValidSingle(char c) =>
        c is '\t' or '\n' or '\r'
        || (c >= '\u0020' && c <= '\uD7FF')
        || (c >= '\uE000' && c <= '\uFFFD');
}
