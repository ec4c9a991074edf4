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
    public void SevenBDTokenizerReloadsIdenticallyAndReportsLoadTime()
    {
        var first = MolmoTokenizer.FromDirectory(TokenizerFixtures.QwenDir); // warm-up: JIT and file cache
        var prompt = PromptBuilder.UserTurn("Describe this image.");
        var times = new List<double>();
        for (int i = 0; i < 2; i++)
        {
            var sw = Stopwatch.StartNew();
            var tok = MolmoTokenizer.FromDirectory(TokenizerFixtures.QwenDir);
            var ids = tok.Encode(prompt);
            times.Add(sw.Elapsed.TotalMilliseconds);
            Assert.Equal(first.Encode(prompt), ids);
        }
        // Timing is reported, never asserted (unit tests do not depend on the machine's speed).
        output.WriteLine($"7B-D load + first encode: {string.Join(", ", times.Select(t => $"{t:F0} ms"))}");
    }

    [Fact]
    public void LongMixedTextRoundTripsAndThroughputIsReported()
    {
        // The shared docs (English, tables, code, formulas) plus every golden string (CJK, emoji, specials) 200 times.
        var docs = string.Concat(Directory.GetFiles(Path.Combine(Molmo.TestSupport.TestPaths.Shared, "docs"), "*.md").Order().Select(File.ReadAllText));
        var text = docs + string.Concat(Enumerable.Repeat(string.Concat(TokenizerFixtures.GoldenTokenizerCases().Select(c => c.Text + "\n")), 200));
        var tok = TokenizerFixtures.Qwen;
        tok.Encode(text[..2000]); // warm-up
        var sw = Stopwatch.StartNew();
        var ids = tok.Encode(text);
        double encodeMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        var back = tok.Decode(ids, skipSpecialTokens: false);
        double decodeMs = sw.Elapsed.TotalMilliseconds;
        output.WriteLine($"{text.Length} chars -> {ids.Length} tokens: encode {encodeMs:F0} ms ({ids.Length / encodeMs / 1000:F2} M tokens/s), decode {decodeMs:F0} ms");
        Assert.Equal(Molmo.Text.Normalization.NfcNormalizer.Normalize(text), back);
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
