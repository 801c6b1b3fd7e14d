using System.Diagnostics.CodeAnalysis;

namespace AgentLocator.Data.Phones;

/// <summary>
/// E.164 normalisation for the numbers people type and Twilio sends: strips spaces, dashes,
/// dots, parentheses and a <c>whatsapp:</c> prefix; <c>00</c> becomes <c>+</c>; a national
/// number starting with a single 0 takes the default country code (Israel, 972).
/// </summary>
public static class PhoneNumbers
{
    public const string DefaultCountryCode = "972";

    public static bool TryNormalize(string? input, [NotNullWhen(true)] out string? e164, string defaultCountryCode = DefaultCountryCode)
    {
        e164 = null;
        if (string.IsNullOrWhiteSpace(input) || input.Length > 40)
        {
            return false;
        }
        var value = input.Trim();
        if (value.StartsWith("whatsapp:", StringComparison.OrdinalIgnoreCase))
        {
            value = value["whatsapp:".Length..];
        }
        Span<char> digits = stackalloc char[40];
        var count = 0;
        var plus = false;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsAsciiDigit(c))
            {
                digits[count++] = c;
            }
            else if (c == '+' && count == 0 && !plus)
            {
                plus = true;
            }
            else if (c is not (' ' or '-' or '.' or '(' or ')'))
            {
                return false;
            }
        }
        var number = new string(digits[..count]);
        if (!plus)
        {
            if (number.StartsWith("00", StringComparison.Ordinal))
            {
                number = number[2..];
            }
            else if (number.StartsWith('0') && number.Length > 1 && number[1] != '0')
            {
                number = defaultCountryCode + number[1..];
            }
            else
            {
                return false;
            }
        }
        // E.164: up to 15 digits, no leading zero in the country code; 8 is the shortest real number with its code.
        if (number.Length is < 8 or > 15 || number[0] == '0')
        {
            return false;
        }
        e164 = "+" + number;
        return true;
    }

    public static string? NormalizeOrNull(string? input) => TryNormalize(input, out var e164) ? e164 : null;

    /// <summary>For logs: keeps the country code and the last two digits.</summary>
    public static string Redact(string? phone)
    {
        if (string.IsNullOrEmpty(phone))
        {
            return "(none)";
        }
        return phone.Length <= 6 ? "***" : phone[..4] + new string('*', phone.Length - 6) + phone[^2..];
    }
}
