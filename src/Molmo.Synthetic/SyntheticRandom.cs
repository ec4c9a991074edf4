namespace Molmo.Synthetic;

/// <summary>
/// Deterministic random source (xoshiro256** seeded through SplitMix64). Unlike <see cref="Random"/> its sequence is fixed by this
/// file, so a dataset generated with seed S is the same on every .NET version. Each row gets its own stream
/// (<see cref="ForRow"/>), so rows can be generated in parallel and any row can be regenerated alone.
/// </summary>
public sealed class SyntheticRandom
{
    ulong _s0, _s1, _s2, _s3;

    public SyntheticRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>The stream for row <paramref name="index"/> of a dataset generated with <paramref name="seed"/>.</summary>
    public static SyntheticRandom ForRow(long seed, long index)
    {
        ulong x = (ulong)seed * 0x9E3779B97F4A7C15UL;
        ulong a = SplitMix(ref x) ^ ((ulong)index * 0xD1B54A32D192ED03UL);
        return new SyntheticRandom(a);
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t; _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    public float UniformF(double lo, double hi) => (float)Uniform(lo, hi);

    /// <summary>Uniform integer in [lo, hiExclusive).</summary>
    public int Int(int lo, int hiExclusive)
    {
        if (hiExclusive <= lo) throw new ArgumentOutOfRangeException(nameof(hiExclusive), $"empty range [{lo}, {hiExclusive})");
        return lo + (int)((NextUInt64() >> 1) % (ulong)(hiExclusive - lo));
    }

    public bool Chance(double p) => NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> items)
    {
        if (items.Count == 0) throw new ArgumentException("cannot pick from an empty list", nameof(items));
        return items[Int(0, items.Count)];
    }

    /// <summary>Standard normal (Box–Muller).</summary>
    public double Normal()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public void Shuffle<T>(IList<T> list)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = Int(0, i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary><paramref name="k"/> distinct items, in random order.</summary>
    public List<T> Sample<T>(IReadOnlyList<T> items, int k)
    {
        if (k > items.Count) throw new ArgumentOutOfRangeException(nameof(k), $"cannot take {k} distinct items from {items.Count}");
        var copy = items.ToList();
        Shuffle(copy);
        return copy.GetRange(0, k);
    }
}
