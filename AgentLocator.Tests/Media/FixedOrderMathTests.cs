using System.Numerics.Tensors;
using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

/// <summary>The echo canceller's correlations: one window at many lags gives each lag exactly what a single dot product gives.</summary>
public sealed class FixedOrderMathTests
{
    private static float[] Noise(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    [Theory]
    [InlineData(2400, 385)]
    [InlineData(1600, 385)]
    [InlineData(16, 7)]
    [InlineData(37, 5)]
    [InlineData(3, 2)]
    public void DotAtLagsGivesEachLagExactlyItsDotProduct(int window, int lags)
    {
        var x = Noise(window, 1);
        var other = Noise(window + lags - 1 + 3, 2);
        var into = new float[lags];

        // From an odd start too: the results must not depend on where the spans lie.
        FixedOrderMath.DotAtLags(x, other.AsSpan(3), into);

        for (var j = 0; j < lags; j++)
        {
            Assert.Equal(FixedOrderMath.Dot(x, other.AsSpan(3 + j, window)), into[j]);
        }
    }

    [Fact]
    public void DotAndSumAgreeWithTensorPrimitivesToRounding()
    {
        var x = Noise(2400, 3);
        var y = Noise(2400, 4);

        Assert.Equal(TensorPrimitives.Dot(x, y), FixedOrderMath.Dot(x, y), 0.001f);
        Assert.Equal(TensorPrimitives.Dot(x, x), FixedOrderMath.Dot(x, x), 0.01f); // about 800
        Assert.Equal(TensorPrimitives.Sum(x), FixedOrderMath.Sum(x), 0.001f);
        Assert.Equal(0f, FixedOrderMath.Dot([], []));
    }

    [Fact]
    public void SpansOfDifferentLengthsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => FixedOrderMath.Dot(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => FixedOrderMath.DotAtLags(new float[16], new float[16], new float[2]));
    }
}
