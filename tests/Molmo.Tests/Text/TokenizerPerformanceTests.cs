using System.Diagnostics;
using Molmo.Text;
using Xunit.Abstractions;

namespace Molmo.Tests.Text;

/// <summary>
/// Load time and concurrent use. Figures go to the test output:
/// dotnet test tests/Molmo.Tests --filter "FullyQualifiedName~TokenizerPerformanceTests" --logger "console;verbosity=detailed"
/// </summary>
public class TokenizerPerformanceTests(ITestOutputHelper output)
{
    [Fact]
    public void SevenBDTokenizerLoadsQuickly()
    {
        MolmoTokenizer.FromDirectory(TokenizerFixtures.QwenDir); // warm-up: JIT and file cache
        var times = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            var tok = MolmoTokenizer.FromDirectory(TokenizerFixtures.QwenDir);
            tok.Encode(PromptBuilder.UserTurn("Describe this image."));
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        output.WriteLine($"7B-D load + first encode: {string.Join(", ", times.Select(t => $"{t:F0} ms"))}");
        // Generous bound for a busy 2-core CI machine; typical is a few hundred ms.
        Assert.True(times.Min() < 3000, $"loading took {times.Min():F0} ms");
    }

    [Fact]
    public void EncodeAndDecodeAreSafeToCallConcurrently()
    {
        var tok = TokenizerFixtures.Qwen;
        var cases = TokenizerFixtures.GoldenTokenizerCases();
        var failures = 0;
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var c = cases[i % cases.Count];
            // A fresh word each time defeats the BPE cache, so cache writes race with reads.
            var extra = " w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "xq" + (char)('a' + i % 26);
            if (!tok.Encode(c.Text).SequenceEqual(c.Ids) || tok.Decode(tok.Encode(c.Text + extra), false) != c.Text + extra)
                Interlocked.Increment(ref failures);
        });
        Assert.Equal(0, failures);
    }
}
