using Molmo.Eval.Metrics;

namespace Molmo.Eval.Tests.Metrics;

public class EloTests
{
    static IEnumerable<PairwiseComparison> Repeat(string a, string b, PreferenceOutcome o, int n) =>
        Enumerable.Repeat(new PairwiseComparison(a, b, o), n);

    [Fact]
    public void Only_ties_give_equal_ratings_at_the_anchor()
    {
        var c = Repeat("x", "y", PreferenceOutcome.Tie, 20).ToList();
        var r = BradleyTerryElo.Fit(c, new EloOptions { BootstrapRounds = 50 });
        Assert.All(r, e => Assert.Equal(1000, e.Rating, 6));
        Assert.All(r, e => Assert.Equal(20, e.Ties));
        // Ratings tie → ordered by name.
        Assert.Equal(["x", "y"], r.Select(e => e.Model));
    }

    [Fact]
    public void Win_rate_maps_to_the_elo_gap()
    {
        // 75 % win rate → gap = 400·log10(3) ≈ 190.85; the mean of the two ratings is 1000.
        var c = Repeat("a", "b", PreferenceOutcome.AWins, 75).Concat(Repeat("a", "b", PreferenceOutcome.BWins, 25)).ToList();
        var r = BradleyTerryElo.Fit(c, new EloOptions { BootstrapRounds = 0 });
        var a = r.Single(e => e.Model == "a").Rating;
        var b = r.Single(e => e.Model == "b").Rating;
        Assert.Equal(400 * Math.Log10(3), a - b, 2); // the tiny ridge moves it by ~1e-5
        Assert.Equal(1000, (a + b) / 2, 3);
        Assert.Equal(0.75, BradleyTerryElo.ExpectedScore(a, b), 4);
    }

    [Fact]
    public void Ties_count_as_half_a_win()
    {
        // a: 50 wins, 50 ties, 0 losses → 75 "points" of 100 → same gap as a 75 % win rate.
        var c = Repeat("a", "b", PreferenceOutcome.AWins, 50).Concat(Repeat("b", "a", PreferenceOutcome.Tie, 50)).ToList();
        var r = BradleyTerryElo.Fit(c, new EloOptions { BootstrapRounds = 0 });
        Assert.Equal(400 * Math.Log10(3), r[0].Rating - r[1].Rating, 2);
        Assert.Equal("a", r[0].Model);
    }

    [Fact]
    public void Recovers_known_ratings_and_intervals_cover_them()
    {
        var truth = new Dictionary<string, double> { ["m0"] = 1100, ["m1"] = 1050, ["m2"] = 1000, ["m3"] = 850 };
        var names = truth.Keys.ToArray();
        var rng = new Random(11);
        var c = new List<PairwiseComparison>();
        for (int k = 0; k < 6000; k++)
        {
            int i = rng.Next(4), j = rng.Next(3);
            if (j >= i) j++;
            double p = BradleyTerryElo.ExpectedScore(truth[names[i]], truth[names[j]]);
            // (No ties here: ties drawn independently of strength would pull ratings together.)
            var o = rng.NextDouble() < p ? PreferenceOutcome.AWins : PreferenceOutcome.BWins;
            c.Add(new PairwiseComparison(names[i], names[j], o));
        }
        var r = BradleyTerryElo.Fit(c, new EloOptions { BootstrapRounds = 200, AnchorModel = "m2", AnchorRating = 1000 });
        Assert.Equal(["m0", "m1", "m2", "m3"], r.Select(e => e.Model));
        foreach (var e in r)
        {
            Assert.InRange(e.Rating, truth[e.Model] - 25, truth[e.Model] + 25);
            Assert.True(e.Lower <= e.Rating && e.Rating <= e.Upper, $"{e.Model}: {e.Lower} {e.Rating} {e.Upper}");
        }
        Assert.Equal(1000, r.Single(e => e.Model == "m2").Rating, 6);
        Assert.True(r.Single(e => e.Model == "m0").Upper - r.Single(e => e.Model == "m0").Lower > 5);
    }

    [Fact]
    public void Bootstrap_is_reproducible_with_a_seed()
    {
        var c = Repeat("a", "b", PreferenceOutcome.AWins, 30).Concat(Repeat("a", "b", PreferenceOutcome.BWins, 20))
            .Concat(Repeat("b", "c", PreferenceOutcome.AWins, 25)).Concat(Repeat("c", "b", PreferenceOutcome.AWins, 25)).ToList();
        var r1 = BradleyTerryElo.Fit(c, new EloOptions { BootstrapRounds = 100, Seed = 5 });
        var r2 = BradleyTerryElo.Fit(c, new EloOptions { BootstrapRounds = 100, Seed = 5 });
        Assert.Equal(r1, r2);
    }

    [Fact]
    public void Undefeated_model_gets_a_finite_top_rating()
    {
        var c = Repeat("champ", "other", PreferenceOutcome.AWins, 10).ToList();
        var r = BradleyTerryElo.Fit(c, new EloOptions { BootstrapRounds = 10 });
        Assert.Equal("champ", r[0].Model);
        Assert.True(double.IsFinite(r[0].Rating) && r[0].Rating > 1500);
    }

    [Fact]
    public void Bad_input_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => BradleyTerryElo.Fit([]));
        Assert.Throws<ArgumentException>(() => BradleyTerryElo.Fit([new PairwiseComparison("a", "a", PreferenceOutcome.Tie)]));
        Assert.Throws<ArgumentException>(() => BradleyTerryElo.Fit([new PairwiseComparison("a", "b", PreferenceOutcome.Tie)],
            new EloOptions { AnchorModel = "zzz" }));
    }
}
