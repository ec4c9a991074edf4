namespace Molmo.Data.Formats;

/// <summary>
/// Style tags ("system prompts") put before the user text in training (molmo-spec §4.4, pixmo-data-and-eval.md §3.6–3.7).
/// </summary>
public static class StylePrefix
{
    /// <summary>Styles that carry their tag only 10 % of the time in fine-tuning (the "demo" styles).</summary>
    public static readonly IReadOnlySet<string> DemoStyles = new HashSet<string>(StringComparer.Ordinal)
        { "pointing", "point_count", "user_qa", "long_caption" };

    /// <summary>Probability that a demo style carries its tag.</summary>
    public const double DemoTagProbability = 0.1;

    /// <summary>Probability that a length-conditioned caption carries the length hint.</summary>
    public const double LengthHintProbability = 0.9;

    /// <summary>Default length hint at inference (65 × 15 ≈ 975 characters).</summary>
    public const int DefaultInferenceLength = 65;

    /// <summary>
    /// Fine-tuning (<c>demo_or_style</c>): <c>"{style}: {text}"</c>, except demo styles, which stay bare 90 % of the time,
    /// and <c>android_control</c>, which never gets a tag.
    /// </summary>
    public static string DemoOrStyle(string style, string userText, Random rng)
    {
        if (style == "android_control") return userText;
        if (DemoStyles.Contains(style) && rng.NextDouble() >= DemoTagProbability) return userText;
        return $"{style}: {userText}";
    }

    /// <summary>The tag alone, always applied: <c>"{style}: {text}"</c> (what evaluation prompts use, e.g. <c>vqa2: …</c>).</summary>
    public static string Always(string style, string userText) => $"{style}: {userText}";

    /// <summary>
    /// Caption pre-training (<c>style_and_length</c>): with probability 0.9 <c>"{style} {L}:"</c> where
    /// L = ⌊(characters of the target + trunc(N(0, 25))) / 15⌋ (floor division, as Python's <c>//</c>);
    /// otherwise <c>"{style} :"</c>, keeping the reference's stray space because that is what the weights saw.
    /// </summary>
    public static string LengthConditioned(string style, string targetText, Random rng)
    {
        if (rng.NextDouble() >= LengthHintProbability) return $"{style} :";
        return $"{style} {LengthHint(targetText.Length, rng)}:";
    }

    /// <summary>The noisy length hint for a target of <paramref name="characters"/> characters.</summary>
    public static long LengthHint(int characters, Random rng)
    {
        long noise = (long)Math.Truncate(Gaussian(rng) * 25.0);
        return (long)Math.Floor((characters + noise) / 15.0);
    }

    /// <summary>The inference prompt of a length-conditioned captioner, e.g. <c>"long_caption 65:"</c>.</summary>
    public static string LengthPrompt(string style = "long_caption", int length = DefaultInferenceLength) => $"{style} {length}:";

    static double Gaussian(Random rng)
    {
        // Box–Muller.
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
