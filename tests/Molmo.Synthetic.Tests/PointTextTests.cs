namespace Molmo.Synthetic.Tests;

public class PointTextTests
{
    [Fact]
    public void SinglePointUsesPointTagWithOneDecimalPercent()
    {
        var s = PointText.Points([new PercentPoint(12.34, 45.66)], "red circle");
        Assert.Equal("<point x=\"12.3\" y=\"45.7\" alt=\"red circle\">red circle</point>", s);
    }

    [Fact]
    public void SeveralPointsAreNumberedFromOneAndSortedByXThenY()
    {
        var s = PointText.Points([new PercentPoint(50, 10), new PercentPoint(20, 90), new PercentPoint(20, 30)], "stars");
        Assert.Equal("<points x1=\"20.0\" y1=\"30.0\" x2=\"20.0\" y2=\"90.0\" x3=\"50.0\" y3=\"10.0\" alt=\"stars\">stars</points>", s);
    }

    [Fact]
    public void CountAnswerWrapsPointsAndStatesTotal()
    {
        var s = PointText.Count([new PercentPoint(70, 20), new PercentPoint(10, 20)], "blue squares");
        Assert.Equal("Counting the <points x1=\"10.0\" y1=\"20.0\" x2=\"70.0\" y2=\"20.0\" alt=\"blue squares\">blue squares</points> shows a total of 2.", s);
        Assert.Equal("There are none.", PointText.Count([], "cats"));
        Assert.Equal("There are none.", PointText.Points([], "cats"));
    }

    [Fact]
    public void SingleCountUsesPointTag()
    {
        var s = PointText.Count([new PercentPoint(5, 6)], "dogs");
        Assert.Equal("Counting the <point x=\"5.0\" y=\"6.0\" alt=\"dogs\">dogs</point> shows a total of 1.", s);
    }

    [Fact]
    public void RandomStreamsAreDeterministicPerRow()
    {
        var a = SyntheticRandom.ForRow(7, 3);
        var b = SyntheticRandom.ForRow(7, 3);
        var c = SyntheticRandom.ForRow(7, 4);
        var xa = Enumerable.Range(0, 20).Select(_ => a.NextUInt64()).ToArray();
        Assert.Equal(xa, Enumerable.Range(0, 20).Select(_ => b.NextUInt64()).ToArray());
        Assert.NotEqual(xa, Enumerable.Range(0, 20).Select(_ => c.NextUInt64()).ToArray());
        var r = new SyntheticRandom(1);
        for (int i = 0; i < 1000; i++) Assert.InRange(r.Int(3, 9), 3, 8);
    }
}
