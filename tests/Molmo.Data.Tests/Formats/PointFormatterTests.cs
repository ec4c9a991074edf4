using Molmo.Data.Datasets;
using Molmo.Data.Formats;

namespace Molmo.Data.Tests.Formats;

public class PointFormatterTests
{
    [Theory]
    [InlineData(12.34, "12.3")]
    [InlineData(12.35, "12.4")] // np.round: 12.35*10 rounds to 123.5 in binary, then half-to-even → 124 (plain %.1f would give 12.3)
    [InlineData(0.25, "0.2")]   // 2.5 → 2 (half to even)
    [InlineData(0.35, "0.4")]
    [InlineData(100, "100.0")]
    [InlineData(7, "7.0")]
    [InlineData(99.96, "100.0")]
    public void Coordinates_round_like_numpy_and_print_one_decimal(double v, string expected) =>
        Assert.Equal(expected, PointFormatter.Coordinate(v));

    [Fact]
    public void Single_point_tag()
    {
        Assert.Equal("<point x=\"79.9\" y=\"71.6\" alt=\"black bomb\">black bomb</point>",
            PointFormatter.PointingAnswer([new PixmoPoint(79.87, 71.57)], "black bomb"));
    }

    [Fact]
    public void Several_points_are_numbered_from_one_and_sorted_by_x_then_y()
    {
        PixmoPoint[] pts = [new(79.87, 71.57), new(10.99, 84.14), new(10.99, 51.36)];
        Assert.Equal("<points x1=\"11.0\" y1=\"51.4\" x2=\"11.0\" y2=\"84.1\" x3=\"79.9\" y3=\"71.6\" alt=\"bomb\">bomb</points>",
            PointFormatter.FormatPoints(pts, "bomb"));
        Assert.Equal([pts[2], pts[1], pts[0]], PointFormatter.Sort(pts));
    }

    [Fact]
    public void Counting_and_not_present_answers()
    {
        Assert.Equal("Counting the <points x1=\"10.0\" y1=\"20.0\" x2=\"30.0\" y2=\"40.0\" alt=\"cats\">cats</points> shows a total of 2.",
            PointFormatter.CountingAnswer([new(30, 40), new(10, 20)], "cats"));
        Assert.Equal("Counting the <point x=\"5.0\" y=\"5.0\" alt=\"dog\">dog</point> shows a total of 1.",
            PointFormatter.CountingAnswer([new(5, 5)], "dog"));
        Assert.Equal("There are none.", PointFormatter.CountingAnswer([], "unicorns"));
        Assert.Equal("There are none.", PointFormatter.PointingAnswer([], "unicorns"));
        Assert.Throws<ArgumentException>(() => PointFormatter.FormatPoints([], "x"));
    }

    [Fact]
    public void Explanation_placeholders_become_tags_with_inline_and_alt_text()
    {
        var text = PointFormatter.ExplainPoints("The banana on the left <|POINT|> is ripest; the apples <|POINT|> are not.",
            [[new PixmoPoint(21.3, 55.0)], [new PixmoPoint(70, 12.5), new PixmoPoint(60, 10)]],
            ["banana on the left", "apples"], ["ripest banana", "apples"]);
        Assert.Equal("The banana on the left <point x=\"21.3\" y=\"55.0\" alt=\"ripest banana\">banana on the left</point> is ripest; " +
                     "the apples <points x1=\"60.0\" y1=\"10.0\" x2=\"70.0\" y2=\"12.5\" alt=\"apples\">apples</points> are not.", text);
        var e = Assert.Throws<ArgumentException>(() => PointFormatter.ExplainPoints("one <|POINT|>", [], [], []));
        Assert.Contains("1 <|POINT|>", e.Message);
    }
}
