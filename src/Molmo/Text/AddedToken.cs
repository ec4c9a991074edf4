namespace Molmo.Text;

/// <summary>
/// A token matched as a whole before normalisation and pre-tokenisation (Hugging Face "added token"), e.g.
/// <c>&lt;|endoftext|&gt;</c>, <c>&lt;im_patch&gt;</c> or, in GPT-NeoX vocabularies, runs of spaces.
/// <paramref name="Special"/> tokens are dropped by <c>Decode(..., skipSpecialTokens: true)</c>.
/// </summary>
public sealed record AddedToken(string Content, int Id, bool Special);
