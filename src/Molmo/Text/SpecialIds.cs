using System.Text.Json;
using Molmo.Checkpoints;

namespace Molmo.Text;

/// <summary>Finds a model directory's special token ids: <c>molmo_ext</c> of the config, else the tokenizer files.</summary>
public static class SpecialIds
{
    public static SpecialTokenIds ForModelDirectory(string dir, MolmoConfig config)
    {
        if (config.SpecialTokens is { } ext) return ext;
        return MolmoTokenizer.FromDirectory(dir).SpecialTokens;
    }
}
