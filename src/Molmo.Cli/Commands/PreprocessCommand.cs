using System.CommandLine;
using Molmo.Checkpoints;
using Molmo.Imaging;
using Molmo.Text;

namespace Molmo.Cli.Commands;

/// <summary><c>molmo preprocess</c>: image + prompt → the model's input tensors, in the layout of the reference goldens.</summary>
public static class PreprocessCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model directory (config.json + tokenizer files; weights not needed)", Required = true };
        var image = new Option<string?>("--image") { Description = "image file (PNG, JPEG, WebP, GIF, BMP); omit for text only" };
        var prompt = new Option<string>("--prompt") { Description = "the user's prompt (sent as \" User: <prompt> Assistant:\")", Required = true };
        var style = new Option<string?>("--style") { Description = "optional style tag, e.g. vqa2 (adds \"vqa2: \" before the prompt)" };
        var output = new Option<string>("--out") { Description = "output safetensors file", Required = true };
        var exif = new Option<bool>("--exif-rotate") { Description = "apply the EXIF orientation (the reference does not)" };
        var maxCrops = new Option<int>("--max-crops") { Description = "most high-res crops", DefaultValueFactory = _ => 12 };
        var crops = new Option<string?>("--crops-png") { Description = "also draw the crop windows (and the kept regions) on the image into this PNG" };
        var force = CommonOptions.Force();
        var cmd = new Command("preprocess", "Write input_ids, images, image_masks and image_input_idx for an image and prompt")
            { model, image, prompt, style, output, exif, maxCrops, crops, force };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var outPath = pr.GetValue(output)!;
            CommonOptions.CheckWritable(outPath, pr.GetValue(force));
            var cropsPath = pr.GetValue(crops);
            if (cropsPath != null)
            {
                if (pr.GetValue(image) is null) throw new ArgumentException("--crops-png needs --image");
                CommonOptions.CheckWritable(cropsPath, pr.GetValue(force));
            }
            var dir = pr.GetValue(model)!;
            var cfg = MolmoConfig.Load(dir);
            var tok = MolmoTokenizer.FromDirectory(dir);
            var special = SpecialIds.Resolve(cfg, tok);
            var proc = new MolmoProcessor(tok, special, ImageCropperOptions.Default with { MaxCrops = pr.GetValue(maxCrops) });
            var img = pr.GetValue(image) is { } path ? ImageDecoder.Decode(path, pr.GetValue(exif)) : null;
            var processed = proc.Process(img, pr.GetValue(prompt)!, pr.GetValue(style));
            var meta = new Dictionary<string, string> { ["prompt"] = pr.GetValue(prompt)! };
            if (processed.Image is { } pi) meta["tiling"] = $"[{pi.Rows}, {pi.Cols}]";
            processed.Save(outPath, meta, overwrite: pr.GetValue(force));
            if (cropsPath != null && img != null)
                File.WriteAllBytes(cropsPath, CropOverlay.RenderPng(img, ImageCropperOptions.Default with { MaxCrops = pr.GetValue(maxCrops) }));
            Console.Error.WriteLine($"wrote {outPath}: input_ids [{processed.InputIds.Length}]" +
                (processed.Image is { } p ? $", images [{p.NumCrops}, {p.PatchesPerCrop}, {p.PixelsPerPatch}], tiling {p.Rows}×{p.Cols}" : ""));
            return 0;
        }));
        return cmd;
    }
}
