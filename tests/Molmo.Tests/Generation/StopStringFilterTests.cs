using Molmo.Generation;

namespace Molmo.Tests.Generation;

public class StopStringFilterTests
{
    static (string Shown, bool Stopped) Feed(string[] stops, params string[] chunks)
    {
        var f = new StopStringFilter(stops);
        var shown = string.Concat(chunks.Select(f.Push));
        if (!f.Stopped) shown += f.Flush();
        return (shown, f.Stopped);
    }

    [Fact]
    public void StopsAtAStopStringSpanningChunks() =>
        Assert.Equal(("Hello ", true), Feed(["<EN", "<END>"], "Hel", "lo <", "EN", "D> more"));

    [Fact]
    public void EarliestStopStringWins() => Assert.Equal(("a", true), Feed(["bc", "b"], "abc"));

    [Fact]
    public void TextThatOnlyLooksLikeAPrefixIsReleased() => Assert.Equal(("x <EN y", false), Feed(["<END>"], "x <EN", " y"));

    [Fact]
    public void NoStopStringsPassesEverythingThrough() => Assert.Equal(("abc", false), Feed([], "a", "b", "c"));

    [Fact]
    public void NothingIsHeldBackThatCannotStartAStop()
    {
        var f = new StopStringFilter(["\n\n"]);
        Assert.Equal("abc", f.Push("abc"));
        Assert.Equal("", f.Push("\n"));      // could be the start of "\n\n"
        Assert.Equal("\nx", f.Push("x"));
    }
}
