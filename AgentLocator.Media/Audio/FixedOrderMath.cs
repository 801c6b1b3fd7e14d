using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AgentLocator.Media;

/// <summary>
/// Dot products and sums of float spans added up in one fixed order: lane i of two 8-wide accumulators takes elements
/// i, i + 16, … (and i + 8, i + 24, …), whatever the spans' addresses. The order is fixed so <see cref="DotAtLags"/>
/// can correlate one window at consecutive lags four at a time, sharing the window's loads, and give each lag exactly
/// what <see cref="Dot"/> gives: the echo canceller's fine delay search correlates 300 ms of audio at ~770 lags every
/// 100 ms while the bot talks.
/// </summary>
public static class FixedOrderMath
{
    private const int Lanes = 8; // Vector256<float>
    private const int Step = 2 * Lanes;

    /// <summary>Σ x[i]·y[i] (spans of one length).</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length)
        {
            throw new ArgumentException("The spans differ in length.", nameof(y));
        }

        return Dot(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y), x.Length);
    }

    /// <summary>Σ x[i]² (<see cref="Dot"/> of the span with itself).</summary>
    public static float Energy(ReadOnlySpan<float> x) => Dot(x, x);

    /// <summary>Σ x[i].</summary>
    public static float Sum(ReadOnlySpan<float> x)
    {
        ref var xr = ref MemoryMarshal.GetReference(x);
        var n = x.Length;
        var i = 0;
        var sum = 0f;
        if (Vector256.IsHardwareAccelerated && n >= Step)
        {
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            for (; i <= n - Step; i += Step)
            {
                a0 += Vector256.LoadUnsafe(ref xr, (nuint)i);
                a1 += Vector256.LoadUnsafe(ref xr, (nuint)(i + Lanes));
            }

            for (; i <= n - Lanes; i += Lanes)
            {
                a0 += Vector256.LoadUnsafe(ref xr, (nuint)i);
            }

            sum = Vector256.Sum(a0 + a1);
        }

        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref xr, i);
        }

        return sum;
    }

    /// <summary>
    /// <paramref name="into"/>[j] = <see cref="Dot"/>(<paramref name="window"/>, <paramref name="other"/>[j .. j + window.Length]):
    /// the window against <paramref name="other"/> at each offset (<paramref name="other"/> is window.Length + into.Length − 1 long at least).
    /// </summary>
    public static void DotAtLags(ReadOnlySpan<float> window, ReadOnlySpan<float> other, Span<float> into)
    {
        var n = window.Length;
        if (other.Length < n + into.Length - 1)
        {
            throw new ArgumentException("The other span is shorter than the window at every offset.", nameof(other));
        }

        ref var w = ref MemoryMarshal.GetReference(window);
        ref var o = ref MemoryMarshal.GetReference(other);
        var j = 0;
        if (Vector256.IsHardwareAccelerated && n >= Step)
        {
            for (; j <= into.Length - 4; j += 4)
            {
                Dot4(ref w, ref Unsafe.Add(ref o, j), n, into.Slice(j, 4));
            }
        }

        for (; j < into.Length; j++)
        {
            into[j] = Dot(ref w, ref Unsafe.Add(ref o, j), n);
        }
    }

    private static float Dot(ref float xr, ref float yr, int n)
    {
        var i = 0;
        var sum = 0f;
        if (Vector256.IsHardwareAccelerated && n >= Step)
        {
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            for (; i <= n - Step; i += Step)
            {
                a0 += Vector256.LoadUnsafe(ref xr, (nuint)i) * Vector256.LoadUnsafe(ref yr, (nuint)i);
                a1 += Vector256.LoadUnsafe(ref xr, (nuint)(i + Lanes)) * Vector256.LoadUnsafe(ref yr, (nuint)(i + Lanes));
            }

            for (; i <= n - Lanes; i += Lanes)
            {
                a0 += Vector256.LoadUnsafe(ref xr, (nuint)i) * Vector256.LoadUnsafe(ref yr, (nuint)i);
            }

            sum = Vector256.Sum(a0 + a1);
        }

        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref xr, i) * Unsafe.Add(ref yr, i);
        }

        return sum;
    }

    /// <summary>Four <see cref="Dot"/>s of the window (n ≥ <see cref="Step"/>) at offsets 0–3 of <paramref name="or"/>, in the same order each.</summary>
    private static void Dot4(ref float wr, ref float or, int n, Span<float> into)
    {
        Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
        var i = 0;
        for (; i <= n - Step; i += Step)
        {
            var w0 = Vector256.LoadUnsafe(ref wr, (nuint)i);
            var w1 = Vector256.LoadUnsafe(ref wr, (nuint)(i + Lanes));
            a0 += w0 * Vector256.LoadUnsafe(ref or, (nuint)i);
            a1 += w1 * Vector256.LoadUnsafe(ref or, (nuint)(i + Lanes));
            b0 += w0 * Vector256.LoadUnsafe(ref or, (nuint)(i + 1));
            b1 += w1 * Vector256.LoadUnsafe(ref or, (nuint)(i + 1 + Lanes));
            c0 += w0 * Vector256.LoadUnsafe(ref or, (nuint)(i + 2));
            c1 += w1 * Vector256.LoadUnsafe(ref or, (nuint)(i + 2 + Lanes));
            d0 += w0 * Vector256.LoadUnsafe(ref or, (nuint)(i + 3));
            d1 += w1 * Vector256.LoadUnsafe(ref or, (nuint)(i + 3 + Lanes));
        }

        for (; i <= n - Lanes; i += Lanes)
        {
            var w0 = Vector256.LoadUnsafe(ref wr, (nuint)i);
            a0 += w0 * Vector256.LoadUnsafe(ref or, (nuint)i);
            b0 += w0 * Vector256.LoadUnsafe(ref or, (nuint)(i + 1));
            c0 += w0 * Vector256.LoadUnsafe(ref or, (nuint)(i + 2));
            d0 += w0 * Vector256.LoadUnsafe(ref or, (nuint)(i + 3));
        }

        float a = Vector256.Sum(a0 + a1), b = Vector256.Sum(b0 + b1), c = Vector256.Sum(c0 + c1), d = Vector256.Sum(d0 + d1);
        for (; i < n; i++)
        {
            var x = Unsafe.Add(ref wr, i);
            a += x * Unsafe.Add(ref or, i);
            b += x * Unsafe.Add(ref or, i + 1);
            c += x * Unsafe.Add(ref or, i + 2);
            d += x * Unsafe.Add(ref or, i + 3);
        }

        into[0] = a;
        into[1] = b;
        into[2] = c;
        into[3] = d;
    }
}
