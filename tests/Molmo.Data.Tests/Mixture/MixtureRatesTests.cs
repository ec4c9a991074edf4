using Molmo.Data.Mixture;

namespace Molmo.Data.Tests.Mixture;

public class MixtureRatesTests
{
    [Fact]
    public void Rates_are_root_size_within_groups_and_sum_to_one()
    {
        MixtureGroup[] groups = [new("a", 0.25, ["x", "y"]), new("b", 0.75, ["z"], new Dictionary<string, long> { ["z"] = 1 })];
        var rates = MixtureRates.Compute(groups, new Dictionary<string, long> { ["x"] = 100, ["y"] = 900, ["z"] = 5_000_000 });
        Assert.Equal(0.25 * 10 / 40, rates["x"], 12);
        Assert.Equal(0.25 * 30 / 40, rates["y"], 12);
        Assert.Equal(0.75, rates["z"], 12); // override wins over the real size
        Assert.Equal(1.0, rates.Values.Sum(), 12);
        var e = Assert.Throws<KeyNotFoundException>(() => MixtureRates.Compute(groups, new Dictionary<string, long> { ["x"] = 1 }));
        Assert.Contains("'y'", e.Message);
    }

    [Fact]
    public void Public_mixture_has_the_reference_group_rates_and_overrides()
    {
        var groups = MixtureRates.Public32Synthetic;
        Assert.Equal([0.15, 0.50, 0.35], groups.Select(g => g.Rate));
        var sizes = groups.SelectMany(g => g.Datasets).ToDictionary(d => d, _ => 40_000L);
        var rates = MixtureRates.Compute(groups, sizes);
        Assert.Equal(0.35, groups[2].Datasets.Sum(d => rates[d]), 12);
        // PixMo-Cap is counted as 50,000 whatever its real size: √50000 vs √40000 inside the demo group.
        Assert.Equal(Math.Sqrt(50_000) / Math.Sqrt(40_000), rates["pixmo_cap"] / rates["pixmo_cap_qa"], 9);
        Assert.DoesNotContain("pixmo_clocks", rates.Keys);
    }
}
