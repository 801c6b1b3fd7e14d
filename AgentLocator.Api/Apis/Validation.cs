using AgentLocator.Data.Phones;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AgentLocator.Api.Apis;

/// <summary>
/// Collects every bad field of a request, so one problem response names them all: <c>errors</c> (field → English
/// messages, for a developer) and <c>codes</c> (field → stable <see cref="ValidationCodes"/>, for a program such as the
/// owners' app, which words them in Hebrew).
/// </summary>
internal sealed class Validation
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _codes = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public void Add(string field, string code, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
            _codes[field] = [];
        }
        list.Add(message);
        _codes[field].Add(code);
    }

    public string? RequiredText(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, ValidationCodes.Required, $"{field} is required.");
            return null;
        }
        return OptionalText(field, value, maxLength);
    }

    public string? OptionalText(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        var trimmed = value.Trim();
        if (trimmed.Length > maxLength)
        {
            Add(field, ValidationCodes.TooLong, $"{field} must be at most {maxLength} characters (got {trimmed.Length}).");
            return null;
        }
        if (trimmed.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
        {
            Add(field, ValidationCodes.ControlCharacters, $"{field} contains control characters.");
            return null;
        }
        return trimmed;
    }

    public string? OptionalPhone(string field, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (PhoneNumbers.TryNormalize(value, out var e164))
        {
            return e164;
        }
        Add(field, ValidationCodes.PhoneInvalid, $"'{Clip(value)}' is not a phone number; use E.164 such as +972501234567.");
        return null;
    }

    public ValidationProblem ToProblem() => TypedResults.ValidationProblem(
        _errors.ToDictionary(e => e.Key, e => e.Value.ToArray()),
        title: "The request has invalid fields",
        extensions: new Dictionary<string, object?> { ["codes"] = _codes.ToDictionary(c => c.Key, c => c.Value.ToArray()) });

    private static string Clip(string value) => value.Length <= 40 ? value : value[..40] + "…";
}

internal static class Problems
{
    public static ProblemHttpResult NotFound(string what, Guid id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"{what} not found", detail: $"No {what.ToLowerInvariant()} has id {id}.");

    /// <summary>A 409 with a stable <paramref name="code"/> (<see cref="ConflictCodes"/>) beside the English detail.</summary>
    public static ProblemHttpResult Conflict(string code, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail,
            extensions: new Dictionary<string, object?> { ["code"] = code });

    public static bool IsUniqueViolation(DbUpdateException ex) =>
        ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}

/// <summary>
/// What is wrong with a field, as a stable code in a validation problem's <c>codes</c>: programs key on these (the
/// owners' app words each in Hebrew), never on the English messages, which may change.
/// </summary>
public static class ValidationCodes
{
    public const string Required = "required";
    public const string TooLong = "too_long";
    public const string ControlCharacters = "control_characters";
    public const string PhoneInvalid = "phone_invalid";
    public const string TooMany = "too_many";
    public const string OutOfRange = "out_of_range";
    public const string UnknownValue = "unknown_value";
    public const string TimeZoneUnknown = "time_zone_unknown";
    public const string NameOrPhoneRequired = "name_or_phone_required";
    public const string Invalid = "invalid";
}

/// <summary>Why a write conflicts with what exists, as the stable <c>code</c> of a 409 problem.</summary>
public static class ConflictCodes
{
    public const string PhoneNumberTaken = "phone_number_taken";
    public const string WhatsAppSenderTaken = "whatsapp_sender_taken";
    public const string CustomerPhoneTaken = "customer_phone_taken";
}
