using SkiaSharp;

namespace Molmo.Synthetic.Tests;

[Collection("cli")] // the CLI writes to the shared console
public class CliTests
{
    static int Run(params string[] args) => Molmo.Cli.Program.BuildRoot().Parse(args).Invoke();

    [Fact]
    public void GenShowSheetWorkAndRefuseToOverwrite()
    {
        using var dir = new TempDir();
        string pq = dir.File("count.parquet"), show = dir.File("row.png"), sheet = dir.File("sheet.png");
        Assert.Equal(0, Run("data", "gen", "count", "--n", "5", "--seed", "3", "--size", "64", "--out", pq));
        var before = File.ReadAllBytes(pq);
        Assert.Equal(1, Run("data", "gen", "count", "--n", "5", "--seed", "4", "--size", "64", "--out", pq));
        Assert.Equal(before, File.ReadAllBytes(pq));
        Assert.Equal(0, Run("data", "gen", "count", "--n", "5", "--seed", "4", "--size", "64", "--out", pq, "--force"));
        Assert.NotEqual(before, File.ReadAllBytes(pq));

        Assert.Equal(0, Run("data", "show", pq, "--row", "2", "--out", show));
        using (var b = SKBitmap.Decode(show)) Assert.True(b.Width >= 64 && b.Height > 64);
        Assert.Equal(1, Run("data", "show", pq, "--row", "2", "--out", show));
        Assert.Equal(1, Run("data", "show", pq, "--row", "99", "--out", dir.File("none.png")));
        Assert.False(File.Exists(dir.File("none.png")));

        Assert.Equal(0, Run("data", "sheet", pq, "--out", sheet));
        using (var b = SKBitmap.Decode(sheet)) Assert.True(b.Width > 4 * 64);
        Assert.Equal(1, Run("data", "gen", "nonsense", "--n", "1", "--out", dir.File("n.parquet")));
    }
}
