using Microsoft.AspNetCore.Identity;

namespace AgentLocator.Web.Identity;

/// <summary>Identity's messages in Hebrew (the ones an owner can meet while setting a password).</summary>
public sealed class HebrewIdentityErrors : IdentityErrorDescriber
{
    public override IdentityError PasswordTooShort(int length) => new() { Code = nameof(PasswordTooShort), Description = $"הסיסמה צריכה להכיל לפחות {length} תווים." };

    public override IdentityError PasswordRequiresDigit() => new() { Code = nameof(PasswordRequiresDigit), Description = "הסיסמה צריכה להכיל לפחות ספרה אחת." };

    public override IdentityError PasswordRequiresLower() => new() { Code = nameof(PasswordRequiresLower), Description = "הסיסמה צריכה להכיל לפחות אות לטינית קטנה אחת." };

    public override IdentityError PasswordRequiresUpper() => new() { Code = nameof(PasswordRequiresUpper), Description = "הסיסמה צריכה להכיל לפחות אות לטינית גדולה אחת." };

    public override IdentityError PasswordRequiresNonAlphanumeric() => new() { Code = nameof(PasswordRequiresNonAlphanumeric), Description = "הסיסמה צריכה להכיל לפחות סימן אחד שאינו אות או ספרה." };

    public override IdentityError PasswordRequiresUniqueChars(int uniqueChars) => new() { Code = nameof(PasswordRequiresUniqueChars), Description = $"הסיסמה צריכה להכיל לפחות {uniqueChars} תווים שונים." };

    public override IdentityError DuplicateEmail(string email) => new() { Code = nameof(DuplicateEmail), Description = $"כבר קיים משתמש עם הכתובת {email}." };

    public override IdentityError DuplicateUserName(string userName) => new() { Code = nameof(DuplicateUserName), Description = $"כבר קיים משתמש בשם {userName}." };

    public override IdentityError InvalidEmail(string? email) => new() { Code = nameof(InvalidEmail), Description = $"הכתובת '{email}' אינה כתובת דוא\"ל תקינה." };

    public override IdentityError InvalidUserName(string? userName) => new() { Code = nameof(InvalidUserName), Description = $"שם המשתמש '{userName}' אינו תקין." };
}
