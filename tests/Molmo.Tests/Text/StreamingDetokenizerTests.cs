using System.Text;
using Molmo.Text;

namespace Molmo.Tests.Text;

public class StreamingDetokenizerTests
{
    static string StreamAll(MolmoTokenizer tok, IEnumerable<int> ids, bool skipSpecial, List<string>? pieces = null)
    {
        var d = tok.CreateStreamingDetokenizer(skipSpecial);
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            var piece = d.Push(id);
            pieces?.Add(piece);
            sb.Append(piece);
        }
        sb.Append(d.Flush());
        return sb.ToString();
    }

    public static TheoryData<int> Cases => TokenizerFixtures.GoldenCaseIndices();

    [Theory]
    [MemberData(nameof(Cases))]
    public void StreamingEqualsDecodeOnGoldenIds(int index)
    {
        var c = TokenizerFixtures.GoldenTokenizerCases()[index];
        var tok = TokenizerFixtures.Qwen;
        Assert.Equal(tok.Decode(c.Ids, true), StreamAll(tok, c.Ids, true));
        Assert.Equal(tok.Decode(c.Ids, false), StreamAll(tok, c.Ids, false));
        Assert.Equal(c.DecodedSkipSpecial, StreamAll(tok, c.Ids, true));
    }

    /// <summary>Ids of the single-byte tokens spelling <paramref name="text"/>'s UTF-8 bytes: every multi-byte character is split.</summary>
    static int[] ByteTokens(MolmoTokenizer tok, string text) =>
        Encoding.UTF8.GetBytes(text).Select(b => tok.TokenToId(ByteLevelAlphabet.ByteToChar(b).ToString())!.Value).ToArray();

    [Theory]
    [InlineData("日本語 😀 👍🏽 café")]
    [InlineData("e\u0301 q\u0323\u0307 Å")]
    [InlineData("Привет, κόσμε! 안녕하세요")]
    public void CharactersSplitOverByteTokensAreHeldBackUntilComplete(string text)
    {
        var tok = TokenizerFixtures.Qwen;
        var ids = ByteTokens(tok, text);
        var pieces = new List<string>();
        var streamed = StreamAll(tok, ids, true, pieces);
        Assert.Equal(text, streamed);
        Assert.Equal(tok.Decode(ids), streamed);
        // No piece may contain a replacement character or a lone surrogate: nothing was split.
        foreach (var piece in pieces)
        {
            Assert.DoesNotContain('\uFFFD', piece);
            Assert.True(piece.EnumerateRunes().All(r => r.Value != 0xFFFD));
            for (int i = 0; i < piece.Length; i++)
                if (char.IsHighSurrogate(piece[i])) Assert.True(i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]));
        }
        // The first byte of a 3-byte character gives no text yet.
        var d = tok.CreateStreamingDetokenizer();
        var jp = ByteTokens(tok, "日");
        Assert.Equal("", d.Push(jp[0]));
        Assert.Equal("", d.Push(jp[1]));
        Assert.Equal("日", d.Push(jp[2]));
    }

    [Fact]
    public void EncodedTextWithCombiningMarksStreamsLikeDecode()
    {
        var tok = TokenizerFixtures.Qwen;
        var ids = tok.Encode("Zoë, Ångström, naïve, 日本語 👩‍👩‍👧 and cafe\u0301.");
        Assert.Equal(tok.Decode(ids), StreamAll(tok, ids, true));
    }

    [Fact]
    public void InvalidBytesBecomeReplacementCharactersLikeDecode()
    {
        var tok = TokenizerFixtures.Qwen;
        // "日" cut after two bytes, then 'A'; and a truncated emoji at the very end.
        var ids = ByteTokens(tok, "日")[..2].Concat(ByteTokens(tok, "A")).Concat(ByteTokens(tok, "😀")[..3]).ToArray();
        var decoded = tok.Decode(ids);
        Assert.Equal("\uFFFDA\uFFFD", decoded);
        Assert.Equal(decoded, StreamAll(tok, ids, true));
    }

    [Fact]
    public void SpecialTokensAreSkippedOrKept()
    {
        var tok = TokenizerFixtures.Qwen;
        var ids = tok.Encode(" Yes.").Append(tok.EosId).ToArray();
        var skip = tok.CreateStreamingDetokenizer(skipSpecialTokens: true);
        Assert.Equal(" Yes.", string.Concat(ids.Select(skip.Push)) + skip.Flush());
        var keep = tok.CreateStreamingDetokenizer(skipSpecialTokens: false);
        Assert.Equal(" Yes.<|endoftext|>", string.Concat(ids.Select(keep.Push)) + keep.Flush());
    }

    [Fact]
    public void ResetDropsHeldBackBytes()
    {
        var tok = TokenizerFixtures.Qwen;
        var d = tok.CreateStreamingDetokenizer();
        Assert.Equal("", d.Push(ByteTokens(tok, "日")[0]));
        d.Reset();
        Assert.Equal("A", d.Push(ByteTokens(tok, "A")[0]));
        Assert.Equal("", d.Flush());
    }
}
