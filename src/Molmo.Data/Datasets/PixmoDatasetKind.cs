namespace Molmo.Data.Datasets;

/// <summary>The nine released PixMo datasets (Hugging Face <c>allenai/pixmo-*</c>).</summary>
public enum PixmoDatasetKind
{
    Cap,
    AskModelAnything,
    Points,
    PointsEval,
    PointExplanations,
    CapQa,
    Docs,
    Clocks,
    Count,
}

public static class PixmoDatasetKindNames
{
    /// <summary>The Hugging Face repository name, e.g. <c>pixmo-points</c>.</summary>
    public static string HubName(this PixmoDatasetKind kind) => kind switch
    {
        PixmoDatasetKind.Cap => "pixmo-cap",
        PixmoDatasetKind.AskModelAnything => "pixmo-ask-model-anything",
        PixmoDatasetKind.Points => "pixmo-points",
        PixmoDatasetKind.PointsEval => "pixmo-points-eval",
        PixmoDatasetKind.PointExplanations => "pixmo-point-explanations",
        PixmoDatasetKind.CapQa => "pixmo-cap-qa",
        PixmoDatasetKind.Docs => "pixmo-docs",
        PixmoDatasetKind.Clocks => "pixmo-clocks",
        PixmoDatasetKind.Count => "pixmo-count",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Parses a hub name (<c>pixmo-points</c>), with or without the <c>allenai/</c> owner, or an enum name.</summary>
    public static PixmoDatasetKind Parse(string name)
    {
        var n = name.Trim();
        if (n.StartsWith("allenai/", StringComparison.OrdinalIgnoreCase)) n = n["allenai/".Length..];
        foreach (var k in Enum.GetValues<PixmoDatasetKind>())
            if (string.Equals(k.HubName(), n, StringComparison.OrdinalIgnoreCase) || string.Equals(k.ToString(), n, StringComparison.OrdinalIgnoreCase))
                return k;
        throw new ArgumentException($"unknown PixMo dataset '{name}'; expected one of: {string.Join(", ", Enum.GetValues<PixmoDatasetKind>().Select(k => k.HubName()))}");
    }
}
