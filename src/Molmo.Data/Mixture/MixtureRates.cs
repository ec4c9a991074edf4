namespace Molmo.Data.Mixture;

/// <summary>A group of datasets that shares one sampling rate; <see cref="SizeOverrides"/> replaces the real size of some.</summary>
public sealed record MixtureGroup(string Name, double Rate, IReadOnlyList<string> Datasets,
    IReadOnlyDictionary<string, long>? SizeOverrides = null);

/// <summary>
/// Sampling rates of the fine-tuning mixture (training-recipe §2.3, pixmo-data-and-eval.md §3.9): inside a group each dataset
/// gets √size / Σ√size × the group rate, where size is the number of examples (images after grouping) unless overridden;
/// the rates are then renormalised over all datasets.
/// </summary>
public static class MixtureRates
{
    public static IReadOnlyDictionary<string, double> Compute(IReadOnlyList<MixtureGroup> groups, IReadOnlyDictionary<string, long> sizes)
    {
        var rates = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var g in groups)
        {
            if (g.Rate < 0) throw new ArgumentOutOfRangeException(nameof(groups), $"group '{g.Name}' has a negative rate {g.Rate}");
            var roots = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var d in g.Datasets)
            {
                long size = g.SizeOverrides?.TryGetValue(d, out var o) == true ? o
                    : sizes.TryGetValue(d, out var s) ? s
                    : throw new KeyNotFoundException($"mixture group '{g.Name}': no size given for dataset '{d}'");
                if (size < 0) throw new ArgumentOutOfRangeException(nameof(sizes), $"dataset '{d}' has a negative size {size}");
                if (!roots.TryAdd(d, Math.Sqrt(size)) || rates.ContainsKey(d))
                    throw new ArgumentException($"dataset '{d}' appears more than once in the mixture");
            }
            double total = roots.Values.Sum();
            foreach (var (d, r) in roots) rates[d] = total == 0 ? 0 : g.Rate * r / total;
        }
        double all = rates.Values.Sum();
        if (all <= 0) throw new ArgumentException("mixture has no weight: every group rate or size is zero");
        return rates.ToDictionary(kv => kv.Key, kv => kv.Value / all, StringComparer.Ordinal);
    }

    /// <summary>
    /// The public code's mixture <c>3.2-synthetic</c>: demo 0.15, aux 0.50, pointing 0.35, PixMo-Cap counted as 50,000 and
    /// DVQA / FigureQA / PlotQA as 10k / 10k / 20k. Clocks is not in it (commented out in the reference). This is not the
    /// paper's Table 7.
    /// </summary>
    public static IReadOnlyList<MixtureGroup> Public32Synthetic { get; } =
    [
        new("demo", 0.15, ["pixmo_ask_model_anything", "pixmo_cap", "pixmo_cap_qa", "pixmo_pointing_explanations"],
            new Dictionary<string, long> { ["pixmo_cap"] = 50_000 }),
        new("aux", 0.50,
        [
            "coco_2014_vqa_multi", "text_vqa", "okvqa", "chart_qa_weighted", "doc_qa", "info_qa", "ai2_diagram_v2_mix_transparent",
            "a_okvqa_mc", "a_okvqa_da", "android_control", "science_qa_img", "tabwmp_da", "st_qa", "tally_qa",
            "pixmo_docs_charts", "pixmo_docs_tables", "pixmo_docs_other", "pixmo_docs_diagrams", "dv_qa", "figure_qa", "plot_qa",
        ], new Dictionary<string, long> { ["dv_qa"] = 10_000, ["figure_qa"] = 10_000, ["plot_qa"] = 20_000 }),
        new("pointing", 0.35,
        [
            "pixmo_points", "pixmo_points_high_freq", "pixmo_points_counting", "pixmo_points_high_freq_counting",
            "pixmo_count", "pixmo_count_counting",
        ]),
    ];
}
