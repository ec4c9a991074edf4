using Molmo.Eval.Metrics;

namespace Molmo.Eval.Tests.Metrics;

public class PointingTests
{
    [Fact]
    public void Extracts_every_format_in_percent()
    {
        Assert.Equal([(12.3, 45.6)], PointExtraction.ExtractPercent("<point x=\"12.3\" y=\"45.6\" alt=\"cat\">cat</point>"));
        Assert.Equal([(10.0, 20.0), (30.5, 40.0)],
            PointExtraction.ExtractPercent("<points x1=\"10\" y1=\"20\" x2=\"30.5\" y2=\"40.0\" alt=\"c\">c</points>"));
        Assert.Equal([(1.5, 2.5), (3.0, 4.0)], PointExtraction.ExtractPercent("(1.5, 2.5)\n(3.0,4.0)"));
        Assert.Equal([(12.3, 45.6)], PointExtraction.ExtractPercent("p=123, 456"));
        // Click(...) is also matched by the parenthesis pattern, as in the reference.
        Assert.Equal(2, PointExtraction.ExtractPercent("Click(1.0, 2.0)").Count);
    }

    [Fact]
    public void Drops_points_above_100()
    {
        Assert.Empty(PointExtraction.ExtractPercent("<point x=\"101.0\" y=\"5.0\" alt=\"a\">a</point>"));
        Assert.Equal([(100.0, 100.0)], PointExtraction.ExtractPercent("<point x=\"100\" y=\"100\" alt=\"a\">a</point>"));
    }

    [Theory]
    [InlineData("<point x=\"12.3\" y=\"45.6\" alt=\"cat\">cat</point>", true)]
    [InlineData("  <points x1=\"1\" y1=\"2\" x2=\"3\" y2=\"4\" alt=\"a\">a</points>\n", true)]
    [InlineData("(1.0, 2.0)\n(3.0, 4.0)", true)]
    [InlineData("Here: <point x=\"12.3\" y=\"45.6\" alt=\"cat\">cat</point>", false)]
    [InlineData("<point x=\"1\" y=\"2\" alt=\"a\">a</point> <point x=\"3\" y=\"4\" alt=\"b\">b</point>", false)]
    [InlineData("<point x=\"1\" y=\"2\" alt=\"a\">a</point", false)]
    [InlineData("There are none.", false)]
    [InlineData("", false)]
    public void Format_gate(string text, bool ok) => Assert.Equal(ok, PointExtraction.IsPointingFormat(text));

    static BinaryMask Square(int w, int h, int x0, int y0, int x1, int y1)
    {
        var d = new bool[w * h];
        for (int y = y0; y <= y1; y++) for (int x = x0; x <= x1; x++) d[y * w + x] = true;
        return new BinaryMask(w, h, d);
    }

    [Fact]
    public void Hungarian_matching_with_masks()
    {
        // 100×100 image, two objects: left square around (20, 20), right square around (80, 80).
        var masks = new[] { Square(100, 100, 10, 10, 30, 30), Square(100, 100, 70, 70, 90, 90) };
        var truth = new[] { new PixelPoint(20, 20), new PixelPoint(80, 80) };
        var both = "<points x1=\"21.0\" y1=\"19.0\" x2=\"79.0\" y2=\"85.0\" alt=\"o\">o</points>";
        var j = PointingScore.Judge(both, truth, 100, 100, masks);
        Assert.Equal((1.0, 1.0, 2), (j.Precision, j.Recall, j.Hits));
        Assert.Equal(1.0, j.F1, 6);

        // One right, one extra far away: P = 1/2, R = 1/2.
        var j2 = PointingScore.Judge("<points x1=\"21.0\" y1=\"19.0\" x2=\"50.0\" y2=\"50.0\" alt=\"o\">o</points>", truth, 100, 100, masks);
        Assert.Equal(0.5, j2.Precision);
        Assert.Equal(0.5, j2.Recall);
        Assert.Equal(0.5, j2.F1, 6);

        // Three predictions, two objects: P = 2/3, R = 1.
        var j3 = PointingScore.Judge("(20.0, 20.0)\n(80.0, 80.0)\n(25.0, 25.0)", truth, 100, 100, masks);
        Assert.Equal(2.0 / 3, j3.Precision, 9);
        Assert.Equal(1.0, j3.Recall);
        Assert.Equal(0.8, j3.F1, 6);
    }

    [Fact]
    public void Matching_is_optimal_not_greedy()
    {
        // Greedy would take the cheapest pair (0,1) = 1 first and be left with (1,0) = 10: total 11, which happens to be
        // optimal here; in the second matrix greedy takes (0,0) = 1 and must then pay (1,1) = 50, while the optimum is 2 + 3.
        Assert.Equal([(0, 1), (1, 0)], LinearAssignment.Solve(new double[,] { { 9, 1 }, { 10, 20 } }));
        Assert.Equal([(0, 1), (1, 0)], LinearAssignment.Solve(new double[,] { { 1, 2 }, { 3, 50 } }));

        // The same through the metric: two objects side by side, masks as columns; greedy would pair the middle
        // prediction with the nearer object and leave the other prediction outside both masks.
        var left = new bool[10 * 1]; var right = new bool[10 * 1];
        for (int x = 0; x <= 4; x++) left[x] = true;
        for (int x = 5; x <= 9; x++) right[x] = true;
        var masks = new[] { new BinaryMask(10, 1, left), new BinaryMask(10, 1, right) };
        var truth = new[] { new PixelPoint(4, 0), new PixelPoint(9, 0) };
        // Predictions at x = 1 and x = 5: nearest-first pairs 5 with truth 4 (distance 1) and 1 with truth 9 (miss);
        // the optimum (1→4, 5→9: 3 + 4 = 7 < 1 + 8 = 9) gives two hits.
        var j = PointingScore.Judge("(10.0, 0.0)\n(50.0, 0.0)", truth, 10, 1, masks);
        Assert.Equal(2, j.Hits);
    }

    [Fact]
    public void Linear_assignment_rectangular_and_brute_force_agree()
    {
        var rng = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            int n = rng.Next(1, 6), m = rng.Next(1, 6);
            var c = new double[n, m];
            for (int i = 0; i < n; i++) for (int j = 0; j < m; j++) c[i, j] = rng.Next(0, 20);
            var pairs = LinearAssignment.Solve(c);
            Assert.Equal(Math.Min(n, m), pairs.Count);
            Assert.Equal(pairs.Count, pairs.Select(p => p.Row).Distinct().Count());
            Assert.Equal(pairs.Count, pairs.Select(p => p.Col).Distinct().Count());
            Assert.Equal(BruteForce(c), pairs.Sum(p => c[p.Row, p.Col]), 9);
        }
    }

    static double BruteForce(double[,] c)
    {
        int n = c.GetLength(0), m = c.GetLength(1);
        double best = double.MaxValue;
        void Go(int i, bool[] used, double sum, int assigned)
        {
            if (i == n)
            {
                if (assigned == Math.Min(n, m)) best = Math.Min(best, sum);
                return;
            }
            if (n - i > m - assigned || n > m) Go(i + 1, used, sum, assigned); // row i unassigned (only when rows > cols)
            for (int j = 0; j < m; j++)
                if (!used[j]) { used[j] = true; Go(i + 1, used, sum + c[i, j], assigned + 1); used[j] = false; }
        }
        Go(0, new bool[m], 0, 0);
        return best;
    }

    [Fact]
    public void Malformed_output_scores_zero()
    {
        var truth = new[] { new PixelPoint(20, 20) };
        var masks = new[] { Square(100, 100, 10, 10, 30, 30) };
        var j = PointingScore.Judge("Sure! <point x=\"20.0\" y=\"20.0\" alt=\"o\">o</point>", truth, 100, 100, masks);
        Assert.False(j.FormatOk);
        Assert.Equal(0, j.F1);
        Assert.Equal(0, PointingScore.Judge("", truth, 100, 100, masks).F1);
    }

    [Fact]
    public void Absent_object()
    {
        Assert.Equal(1, PointingScore.Judge("This isn't in the image.", [], 100, 100, []).F1);
        Assert.Equal(1, PointingScore.Judge("", [], 100, 100, null).F1);
        Assert.Equal(0, PointingScore.Judge("<point x=\"1.0\" y=\"1.0\" alt=\"a\">a</point>", [], 100, 100, []).F1);
    }

    [Fact]
    public void Rounding_and_out_of_bounds()
    {
        // 10×10 image; mask holds only pixel (3, 3). 35 % of 10 = 3.5 rounds to even → 4 (miss); 34 % → 3.4 → 3 (hit).
        var mask = Square(10, 10, 3, 3, 3, 3);
        var truth = new[] { new PixelPoint(3, 3) };
        Assert.Equal(0, PointingScore.Judge("<point x=\"35.0\" y=\"34.0\" alt=\"a\">a</point>", truth, 10, 10, [mask]).Hits);
        Assert.Equal(1, PointingScore.Judge("<point x=\"34.0\" y=\"34.0\" alt=\"a\">a</point>", truth, 10, 10, [mask]).Hits);
        // 100 % of width is pixel 10: outside a 10-wide mask → miss.
        var edge = Square(10, 10, 9, 9, 9, 9);
        Assert.Equal(0, PointingScore.Judge("<point x=\"100.0\" y=\"95.0\" alt=\"a\">a</point>", [new PixelPoint(9, 9)], 10, 10, [edge]).Hits);
    }

    [Fact]
    public void Radius_rule_without_masks()
    {
        var truth = new[] { new PixelPoint(50, 50) };
        Assert.Equal(1, PointingScore.Judge("<point x=\"53.0\" y=\"54.0\" alt=\"a\">a</point>", truth, 100, 100, null, hitRadius: 5).Hits);
        Assert.Equal(0, PointingScore.Judge("<point x=\"54.0\" y=\"54.0\" alt=\"a\">a</point>", truth, 100, 100, null, hitRadius: 5).Hits);
    }

    [Fact]
    public void Mask_count_must_match_points() =>
        Assert.Throws<ArgumentException>(() => PointingScore.Judge("(1.0, 1.0)", [new PixelPoint(1, 1)], 10, 10, []));
}
