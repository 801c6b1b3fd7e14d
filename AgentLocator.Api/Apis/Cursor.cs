using System.Buffers.Text;

using AgentLocator.Api.Contracts;

namespace AgentLocator.Api.Apis;

/// <summary>
/// Opaque keyset cursors. Ids are version-7 GUIDs (time ordered), so "after this id" pages
/// in creation order without OFFSET scans.
/// </summary>
internal static class Cursor
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static string Encode(Guid id) => Base64Url.EncodeToString(id.ToByteArray(bigEndian: true));

    public static bool TryDecode(string? cursor, out Guid? after)
    {
        after = null;
        if (string.IsNullOrEmpty(cursor))
        {
            return true;
        }
        Span<byte> bytes = stackalloc byte[16];
        try
        {
            // TryDecodeFromChars returns false for a short buffer but throws on characters outside the alphabet.
            if (cursor.Length != 22 || !Base64Url.TryDecodeFromChars(cursor, bytes, out var written) || written != 16)
            {
                return false;
            }
        }
        catch (FormatException)
        {
            return false;
        }
        after = new Guid(bytes, bigEndian: true);
        return true;
    }

    public static void ValidatePage(Validation validation, int? limit, string? cursor, out int take, out Guid? after)
    {
        take = limit ?? DefaultLimit;
        if (take is < 1 or > MaxLimit)
        {
            validation.Add("limit", ValidationCodes.OutOfRange, $"limit must be between 1 and {MaxLimit}.");
        }
        if (!TryDecode(cursor, out after))
        {
            validation.Add("cursor", ValidationCodes.Invalid, "cursor is not one this API returned.");
        }
    }

    public static Page<TResponse> ToPage<TEntity, TResponse>(List<TEntity> items, int take, Func<TEntity, TResponse> map, Func<TEntity, Guid> id)
    {
        var hasMore = items.Count > take;
        var page = hasMore ? items[..take] : items;
        return new Page<TResponse>(page.Select(map).ToList(), hasMore ? Cursor.Encode(id(page[^1])) : null);
    }
}
