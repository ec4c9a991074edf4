using System.CommandLine;
using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.Text;
using Spectre.Console;
using static TorchSharp.torch;

namespace Molmo.Cli.Commands;

/// <summary><c>molmo inspect DIR</c>: architecture, parameter count, weight files and dtypes, tokenizer and special ids.</summary>
public static class InspectCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("model-dir") { Description = "model directory" };
        var cmd = new Command("inspect", "Describe a model directory without loading its weights") { dir };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var d = pr.GetValue(dir)!;
            var cfg = MolmoConfig.Load(d);
            var t = new Table().AddColumn("property").AddColumn("value");
            void Row(string k, string v) => t.AddRow(Markup.Escape(k), Markup.Escape(v));
            Row("decoder", cfg.DecoderStyle);
            Row("layers / width / heads", $"{cfg.NumLayers} / {cfg.HiddenSize} / {cfg.NumHeads} (kv {cfg.NumKeyValueHeads}, head dim {cfg.HeadDim})");
            Row("FFN width", cfg.IsMixtureOfExperts ? $"{cfg.FfnWidth} per expert" : cfg.FfnWidth.ToString());
            Row("vocabulary", $"{cfg.VocabSize} (+{cfg.AdditionalVocabSize} new rows; LM head {cfg.EmbeddingSize} rows)");
            Row("rope θ / norm eps / max positions", $"{cfg.RopeTheta:G} / {cfg.LayerNormEps:G} / {cfg.MaxPositionEmbeddings}");
            Row("vision", $"ViT {cfg.Vision.NumLayers} layers × {cfg.Vision.EmbDim} ({cfg.Vision.NumHeads} heads), {cfg.Vision.ImageSize}px / {cfg.Vision.PatchSize}px patches, layers [{string.Join(", ", cfg.VitLayers)}]");
            if (!cfg.IsMixtureOfExperts)
            {
                using var meta = new MolmoForCausalLM(cfg, new ModelPlacement(ScalarType.Float32, META));
                // The weight-only quantised placements' sizes, built on the meta device (no memory).
                string Size(ModelPlacement p) { using var m = new MolmoForCausalLM(cfg, p); return $"{MemoryBudget.WeightBytes(m) / 1e9:F1} GB"; }
                Row("parameters", $"{meta.ParameterCount:N0} ({meta.ParameterCount * 2 / 1e9:F1} GB in bf16, {meta.ParameterCount * 4 / 1e9:F1} GB in fp32, " +
                    $"{Size(new ModelPlacement(ScalarType.BFloat16, META, Int8Decoder: true))} in int8, {Size(new ModelPlacement(ScalarType.BFloat16, META) { Int4Decoder = true })} in int4)");
            }
            if (cfg.Quantization is { } q) Row("quantised", $"{q} (written by molmo quantize): load it with --dtype {q}");
            try
            {
                using var ck = Checkpoint.Open(d);
                var dtypes = ck.Files.SelectMany(f => f.Entries).GroupBy(e => e.DType).Select(g => $"{g.Key} ×{g.Count()}");
                Row("weights", $"{ck.Files.Count} file(s), {ck.TensorNames.Count()} tensors, {ck.TotalBytes / 1e6:N1} MB; dtypes {string.Join(", ", dtypes)}");
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { Row("weights", "none (" + e.Message + ")"); }
            try
            {
                var tok = MolmoTokenizer.FromDirectory(d);
                var s = tok.SpecialTokens;
                Row("tokenizer", $"{tok.Source}: {tok.VocabSize} ids");
                Row("special ids", $"BOS {s.Bos}, EOS {s.Eos}, <im_start> {s.ImStart}, <im_end> {s.ImEnd}, <im_patch> {s.ImPatch}, <im_col> {s.ImCol}, <|image|> {s.Image}");
            }
            catch (Exception e) when (e is FileNotFoundException or TokenizerLoadException or InvalidDataException)
            {
                Row("tokenizer", "none (" + e.Message.Split('\n')[0] + ")");
                if (cfg.SpecialTokens is { } s)
                    Row("special ids (molmo_ext)", $"BOS {s.Bos}, EOS {s.Eos}, <im_start> {s.ImStart}, <im_end> {s.ImEnd}, <im_patch> {s.ImPatch}, <im_col> {s.ImCol}");
            }
            AnsiConsole.Write(t);
            return 0;
        }));
        return cmd;
    }
}
