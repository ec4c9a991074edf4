using System.Text;

namespace Molmo.Text;

/// <summary>
/// Incremental decoding for streaming generation. <see cref="Push"/> returns only the text completed by the new token:
/// a UTF-8 character split over several byte-level tokens is held back until its last byte arrives. The concatenation
/// of every <see cref="Push"/> result and a final <see cref="Flush"/> equals
/// <see cref="MolmoTokenizer.Decode"/> of all ids (same replacement of invalid bytes by U+FFFD). Not thread-safe.
/// </summary>
public sealed class StreamingDetokenizer
{
    static readonly UTF8Encoding Utf8Replacing = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    readonly MolmoTokenizer _tokenizer;
    readonly Decoder _decoder = Utf8Replacing.GetDecoder();
    char[] _chars = new char[64];

    public StreamingDetokenizer(MolmoTokenizer tokenizer, bool skipSpecialTokens = true)
    {
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        SkipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Special tokens (EOS, image tokens, …) produce no text.</summary>
    public bool SkipSpecialTokens { get; }

    /// <summary>Adds one generated id and returns the newly completed text (possibly empty).</summary>
    public string Push(int id)
    {
        if (!_tokenizer.IncludeInDecode(id, SkipSpecialTokens)) return string.Empty;
        return DecodeBytes(_tokenizer.TokenBytes(id), flush: false);
    }

    /// <summary>Returns what is still held back (an incomplete character becomes U+FFFD) and resets the state.</summary>
    public string Flush() => DecodeBytes(ReadOnlySpan<byte>.Empty, flush: true);

    /// <summary>Drops anything held back, for reuse with a new sequence.</summary>
    public void Reset() => _decoder.Reset();

    string DecodeBytes(ReadOnlySpan<byte> bytes, bool flush)
    {
        // The Decoder keeps an incomplete trailing sequence (at most 3 bytes) between calls and completes it with the
        // next bytes, so one call can produce chars for those held-back bytes as well.
        int needed = Utf8Replacing.GetMaxCharCount(bytes.Length + 3);
        if (_chars.Length < needed) _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int n = _decoder.GetChars(bytes, _chars, flush);
        return n == 0 ? string.Empty : new string(_chars, 0, n);
    }
}
