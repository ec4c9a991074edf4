using Molmo.Points;
using SkiaSharp;

namespace Molmo.Tests.Points;

public class PointParserTests
{
    [Fact]
    public void SinglePointWithAltAndText()
    {
        var p = Assert.Single(PointParser.Parse("""Here: <point x="61.5" y="40.2" alt="the dog">the dog</point>."""));
        Assert.Equal(61.5, p.XPercent);
        Assert.Equal(40.2, p.YPercent);
        Assert.Equal("the dog", p.Alt);
        Assert.Equal("the dog", p.Text);
        Assert.Equal((123.0, 40.2 / 100 * 50), p.ToPixels(200, 50));
    }

    [Fact]
    public void MultiplePointsKeepTheirIndexOrder()
    {
        var pts = PointParser.Parse("""<points x1="10.0" y1="20.0" x2="30.5" y2="40.5" x10="1.0" y10="2.0" alt="eyes">eyes</points>""");
        Assert.Equal(3, pts.Count);
        Assert.Equal([10.0, 30.5, 1.0], pts.Select(p => p.XPercent));
        Assert.Equal([0, 1, 2], pts.Select(p => p.Index));
        Assert.All(pts, p => Assert.Equal("eyes", p.Alt));
    }

    [Fact]
    public void InvalidCoordinatesAreDropped()
    {
        var pts = PointParser.Parse("""<points x1="110.0" y1="20.0" x2="30.0" y2="40.0" x3="abc" y3="1" alt="a">a</points>""");
        Assert.Equal(30.0, Assert.Single(pts).XPercent);
    }

    [Fact]
    public void LegacyForms()
    {
        Assert.Equal(2, PointParser.Parse("Click(12.5, 40.0) then Click(50.0,60.0)").Count);
        Assert.Equal(55.5, Assert.Single(PointParser.Parse("at (55.5, 12.0)")).XPercent);
        var legacy = Assert.Single(PointParser.Parse("p=123, 456"));
        Assert.Equal(12.3, legacy.XPercent, 6);
        Assert.Equal(45.6, legacy.YPercent, 6);
        Assert.Empty(PointParser.Parse("No points in this answer."));
        Assert.Empty(PointParser.Parse("<point x=\"1.0\">broken"));
    }

    [Theory]
    [InlineData("""Counting the <points x1="1.0" y1="2.0" alt="dogs">dogs</points> shows a total of 3.""", 3)]
    [InlineData("There are none.", 0)]
    [InlineData("There are seven.", 7)]
    [InlineData("12", 12)]
    [InlineData("I count 4", 4)]
    [InlineData("I cannot tell.", null)]
    [InlineData("", null)]
    public void CountsAreExtracted(string answer, int? expected) => Assert.Equal(expected, PointParser.ExtractCount(answer));

    [Fact]
    public void StripTagsKeepsTheInlineText() =>
        Assert.Equal("Look at the cat now", PointParser.StripTags("""Look at <point x="1.0" y="1.0" alt="cat">the cat</point> now"""));

    [Fact]
    public void OverlayDrawsMarkersWhereThePointsAre()
    {
        int w = 200, h = 100;
        var rgb = new byte[w * h * 3];
        var png = PointOverlay.RenderPng(w, h, rgb, PointParser.Parse("""<point x="25.0" y="50.0" alt="a">a</point>"""));
        using var bmp = SKBitmap.Decode(png);
        Assert.Equal(w, bmp.Width);
        var atPoint = bmp.GetPixel(50 + 3, 50 - 3);  // inside the marker, off its label
        var far = bmp.GetPixel(180, 10);
        Assert.True(atPoint.Red > 150, $"marker colour expected at the point, got {atPoint}");
        Assert.Equal((byte)0, far.Red);
    }
}
