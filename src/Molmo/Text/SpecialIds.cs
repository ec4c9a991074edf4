using Molmo.Checkpoints;

namespace Molmo.Text;

/// <summary>A checkpoint's special token ids: <c>molmo_ext</c> of its config when present (test checkpoints), else the tokenizer's.</summary>
public static class SpecialIds
{
    public static SpecialTokenIds Resolve(MolmoConfig config, MolmoTokenizer tokenizer) => config.SpecialTokens ?? tokenizer.SpecialTokens;

    /// <summary>Like <see cref="Resolve"/>, loading the tokenizer only when the config does not carry the ids.</summary>
    public static SpecialTokenIds ForModelDirectory(string dir, MolmoConfig config) =>
        config.SpecialTokens ?? MolmoTokenizer.FromDirectory(dir).SpecialTokens;
}
