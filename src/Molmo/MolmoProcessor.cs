using Molmo.Checkpoints;
using Molmo.Imaging;
using Molmo.Model;
using Molmo.Text;
using static TorchSharp.torch;

namespace Molmo;

/// <summary>
/// A prompt turned into model inputs (spec §3–4): <c>input_ids</c> = [BOS] + image block + text tokens, and, when there is an
/// image, its crops, masks and <c>image_input_idx</c>. Plain arrays; <see cref="ToModelInputs"/> makes the tensors.
/// </summary>
public sealed class ProcessedInputs
{
    public required long[] InputIds { get; init; }
    public PreprocessedImage? Image { get; init; }
    /// <summary>Size of the original image (points are percent of it).</summary>
    public int ImageWidth { get; init; }
    public int ImageHeight { get; init; }
    public int TextTokenCount { get; init; }

    /// <summary>Tensors with a batch dimension of 1, on the CPU (the model moves them to its device).</summary>
    public ModelInputs ToModelInputs()
    {
        var ids = tensor(InputIds, [1, InputIds.Length]);
        if (Image is null) return new ModelInputs(ids);
        var i = Image;
        return new ModelInputs(ids,
            tensor(i.Images, [1, i.NumCrops, i.PatchesPerCrop, i.PixelsPerPatch]),
            tensor(i.ImageMasks, [1, i.NumCrops, i.PatchesPerCrop]),
            tensor(i.ImageInputIdx, [1, i.NumCrops, i.PooledPerCrop]));
    }

    /// <summary>
    /// Writes the interop file of <c>molmo preprocess</c>: <c>input_ids</c> I64 [S], <c>images</c> F32 [T,576,588],
    /// <c>image_masks</c> F32 [T,576], <c>image_input_idx</c> I64 [T,144] — the layout of the reference goldens.
    /// </summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null, bool overwrite = false)
    {
        using var scope = NewDisposeScope();
        var list = new List<KeyValuePair<string, Tensor>> { new("input_ids", tensor(InputIds, ScalarType.Int64)) };
        if (Image is { } i)
        {
            list.Add(new("images", tensor(i.Images, [i.NumCrops, i.PatchesPerCrop, i.PixelsPerPatch])));
            list.Add(new("image_masks", tensor(i.ImageMasks, [i.NumCrops, i.PatchesPerCrop])));
            list.Add(new("image_input_idx", tensor(i.ImageInputIdx, [i.NumCrops, i.PooledPerCrop])));
        }
        SafetensorsWriter.Save(path, list, metadata, overwrite);
    }
}

/// <summary>Tokenizer + image cropper: builds <see cref="ProcessedInputs"/> exactly as the reference processor (one image, before the text).</summary>
public sealed class MolmoProcessor(MolmoTokenizer tokenizer, SpecialTokenIds specialTokens, ImageCropperOptions? cropperOptions = null)
{
    readonly ImageCropper _cropper = new(cropperOptions);

    public MolmoTokenizer Tokenizer { get; } = tokenizer;
    public SpecialTokenIds SpecialTokens { get; } = specialTokens;
    public ImageCropper Cropper => _cropper;

    /// <summary>Single turn: <c>" User: [style: ]prompt Assistant:"</c>.</summary>
    public ProcessedInputs Process(RgbImage? image, string prompt, string? style = null)
        => Build(image, PromptBuilder.EncodePrompt(Tokenizer, prompt, style));

    /// <summary>Multi-turn: messages alternate user, assistant, …, ending with the user message to answer (spec §4.2).</summary>
    public ProcessedInputs Process(RgbImage? image, IReadOnlyList<string> messages, string? style = null)
        => Build(image, PromptBuilder.EncodeConversation(Tokenizer, messages, style));

    ProcessedInputs Build(RgbImage? image, int[] text)
    {
        var pre = image is null ? null : _cropper.Preprocess(image, SpecialTokens, blockOffset: 1);
        var ids = PromptBuilder.BuildInputIds(SpecialTokens.Bos, pre is null ? [] : pre.ImageTokens, text);
        return new ProcessedInputs
        {
            InputIds = Array.ConvertAll(ids, x => (long)x),
            Image = pre,
            ImageWidth = image?.Width ?? 0,
            ImageHeight = image?.Height ?? 0,
            TextTokenCount = text.Length,
        };
    }
}
