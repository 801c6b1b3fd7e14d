using AgentLocator.Web.Formatting;

namespace AgentLocator.Tests.Web;

public sealed class WebFormattingTests
{
    [Theory]
    [InlineData("+972501234567", "050-123-4567")]
    [InlineData("whatsapp:+972529990011", "052-999-0011")]
    [InlineData("+97231234567", "03-123-4567")]
    [InlineData("+97221234567", "02-123-4567")]
    [InlineData("+972771234567", "077-123-4567")]
    [InlineData("+14155550123", "+14155550123")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void PhoneNumbersAreWrittenAsIsraelisWriteThem(string? e164, string shown) => Assert.Equal(shown, IsraeliPhone.Format(e164));

    [Fact]
    public void TimesAreShownInTheBusinesssTimeZoneAndADayStartsAtItsLocalMidnight()
    {
        var zone = BusinessClock.Zone("Asia/Jerusalem");
        Assert.Equal("01/12/2026 09:05", BusinessClock.Format(new DateTimeOffset(2026, 12, 1, 7, 5, 0, TimeSpan.Zero), zone));
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 22, 0, 0, TimeSpan.Zero), BusinessClock.StartOfDay(new DateOnly(2026, 12, 1), zone));
        Assert.Equal(TimeZoneInfo.Utc, BusinessClock.Zone("Mars/Olympus"));
    }
}
