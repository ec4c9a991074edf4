using System.Text.RegularExpressions;
using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>
/// VQA v2: the questions JSON (<c>{"questions": [{question_id, image_id, question}]}</c>), optionally the annotations JSON
/// (<c>{"annotations": [{question_id, answers: [{answer}]}]}</c>; test-dev has none), and the COCO image folder, whose
/// files end in the zero-padded image id (<c>COCO_val2014_000000000042.jpg</c>).
/// </summary>
public static partial class VqaV2Converter
{
    [GeneratedRegex(@"(\d+)\.(jpg|jpeg|png)$", RegexOptions.IgnoreCase)]
    private static partial Regex TrailingId();

    public static ConversionResult Convert(ConvertRequest r)
    {
        if (r.Inputs.Count != 1) throw new ArgumentException("vqav2 takes one --input (the questions JSON) and --annotations for answers");
        var images = ConverterIo.NeedDir(r.ImagesDir, "vqav2");
        var byImageId = new Dictionary<long, string>();
        foreach (var f in Directory.EnumerateFiles(images))
        {
            var m = TrailingId().Match(Path.GetFileName(f));
            if (m.Success && long.TryParse(m.Groups[1].Value, out var id)) byImageId[id] = f;
        }
        var answers = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (r.Annotations != null)
        {
            var ann = ConverterIo.ReadJson(r.Annotations);
            foreach (var a in ConverterIo.Records(ann, r.Annotations, "annotations"))
                answers[ConverterIo.Str(a, "question_id", r.Annotations)] = ConverterIo.StrList(a, "answers");
        }
        var items = new List<BenchmarkItem>();
        var notes = new List<string>();
        int skipped = 0;
        var q = ConverterIo.ReadJson(r.Inputs[0]);
        foreach (var o in ConverterIo.Records(q, r.Inputs[0], "questions"))
        {
            var qid = ConverterIo.Str(o, "question_id", r.Inputs[0]);
            var imageId = long.Parse(ConverterIo.Str(o, "image_id", r.Inputs[0]), System.Globalization.CultureInfo.InvariantCulture);
            if (!byImageId.TryGetValue(imageId, out var img)) { skipped++; continue; }
            items.Add(new BenchmarkItem
            {
                Id = qid, Question = ConverterIo.Str(o, "question", r.Inputs[0]), ImagePath = img,
                Answers = answers.TryGetValue(qid, out var a) ? a : [],
            });
        }
        if (skipped > 0) notes.Add($"{skipped} question(s) skipped: image id not found in {images}");
        if (r.Annotations == null) notes.Add("no --annotations: items have no answers (fine for generating a test-dev submission, not for scoring)");
        return BenchmarkConverters.Finish(r, items, skipped, notes);
    }
}
