using Molmo.Data.Datasets;
using Molmo.Data.Formats;
using Molmo.Synthetic.Parquet;

namespace Molmo.Synthetic.Counting;

/// <summary>A generated scene: the row plus every object and which of them the question is about.</summary>
public sealed record CountExample(CountRow Row, IReadOnlyList<SceneObject> Objects, IReadOnlyList<SceneObject> Targets, int Width, int Height);

/// <summary>
/// Counting and pointing scenes (PixMo-Count / PixMo-Points style): 0–10 target objects (11–30 in "many" scenes) plus
/// distractors of other shapes/colours on a light background. Objects sit in disjoint circles, so none hides another, and each
/// point is the exact centre of its object. Questions: "How many X are there?" (counting), "Point to the X" (pointing) and
/// referring expressions by colour, size or position (refexp).
/// </summary>
public static class CountSceneGenerator
{
    static readonly string[] CountTemplates =
    [
        "How many {0} are there?", "How many {0} are in the image?", "Count the {0}.", "Point to and count the {0}.",
        "Count the {0} in this picture.", "How many {0} can you see?", "What is the number of {0} shown?",
        "Show me the {0} and tell me how many there are.", "how many {0} are visible?", "Count all the {0} in the image.",
    ];
    static readonly string[] PointTemplates =
    [
        "Point to the {0}.", "Point to all the {0}.", "Where are the {0}?", "Locate all the {0} in the image.",
        "Show me where the {0} are.", "Mark each of the {0}.", "point at the {0}", "Find all {0} and point to them.",
    ];
    static readonly string[] RefexpTemplates = ["Point to the {0}.", "Where is the {0}?", "Show me the {0}.", "Locate the {0}.", "Point at the {0} in the image."];

    public static CountExample Generate(long seed, long index, int size)
    {
        if (size < 32) throw new ArgumentOutOfRangeException(nameof(size), $"image size {size} px is too small (at least 32)");
        var rng = SyntheticRandom.ForRow(seed, index);
        int w = size, h = (int)Math.Round(size * 0.75);
        var shapes = Enum.GetValues<ShapeKind>();
        string method = rng.NextDouble() switch { < 0.45 => "counting", < 0.75 => "pointing", _ => "refexp" };

        var targetShape = rng.Pick(shapes);
        var targetColor = rng.Pick(NamedColor.Objects);
        bool byColor = rng.Chance(0.6);
        int targets = method == "refexp" ? rng.Int(2, 6)
            : rng.Chance(0.15) ? rng.Int(11, 31)
            : rng.Chance(0.08) ? 0 : rng.Int(1, 11);
        int distractors = rng.Int(targets > 15 ? 0 : 1, targets > 15 ? 6 : 9);

        // Objects: targets match the label, distractors never do.
        var specs = new List<(ShapeKind Shape, NamedColor Color, bool Target)>();
        for (int i = 0; i < targets; i++)
            specs.Add((targetShape, byColor || method == "refexp" && rng.Chance(0.5) ? targetColor : rng.Pick(NamedColor.Objects), true));
        for (int i = 0; i < distractors; i++)
        {
            ShapeKind s; NamedColor c;
            do { s = rng.Pick(shapes); c = rng.Pick(NamedColor.Objects); }
            while (s == targetShape && (!byColor || c == targetColor));
            specs.Add((s, c, false));
        }

        var objects = Place(specs, w, h, rng, out var isTarget);
        using var surface = ImageEncoding.NewSurface(w, h);
        string background = Backgrounds.Draw(surface.Canvas, w, h, rng, light: true);
        foreach (var o in objects) o.Draw(surface.Canvas);
        var png = ImageEncoding.Png(surface);

        var targetObjs = objects.Where((_, i) => isTarget[i]).ToList();
        string label = byColor ? $"{targetColor.Name} {SceneObject.Plural(targetShape)}" : SceneObject.Plural(targetShape);
        string question, answer;
        List<SceneObject> answerObjs;
        if (method == "refexp" && Refexp(objects, targetShape, w, rng) is { } re)
        {
            label = re.Expression;
            answerObjs = [re.Target];
            question = string.Format(System.Globalization.CultureInfo.InvariantCulture, rng.Pick(RefexpTemplates), label);
            answer = PointFormatter.PointingAnswer(answerObjs.Select(o => Percent(o, w, h)).ToList(), label);
        }
        else
        {
            if (method == "refexp")
            {
                // No unambiguous expression in this scene: ask to point at all objects of the shape instead.
                method = "pointing";
                label = SceneObject.Plural(targetShape);
                targetObjs = objects.Where(o => o.Shape == targetShape).ToList();
            }
            answerObjs = targetObjs;
            var pts = answerObjs.Select(o => Percent(o, w, h)).ToList();
            question = string.Format(System.Globalization.CultureInfo.InvariantCulture, rng.Pick(method == "counting" ? CountTemplates : PointTemplates), label);
            answer = method == "counting" ? PointFormatter.CountingAnswer(pts, label) : PointFormatter.PointingAnswer(pts, label);
        }

        var row = new CountRow
        {
            ImageId = $"count-{seed}-{index:D7}",
            Image = new ImageCell { Bytes = png, Path = $"count-{seed}-{index:D7}.png" },
            ImageWidth = w,
            ImageHeight = h,
            Label = label,
            Count = answerObjs.Count,
            Points = PointFormatter.Sort(answerObjs.Select(o => Percent(o, w, h)).ToList()).Select(p => new PointCell { X = p.X, Y = p.Y }).ToList(),
            CollectionMethod = method,
            Question = question,
            Answer = answer,
            Background = background,
            Objects = objects.Select(o => new ObjectCell { Shape = SceneObject.Singular(o.Shape), Color = o.Color.Name, X = o.X, Y = o.Y, Radius = o.Radius, Rotation = o.RotationDeg }).ToList(),
        };
        return new CountExample(row, objects, answerObjs, w, h);
    }

    public static PixmoPoint Percent(SceneObject o, int w, int h) => new(o.X / w * 100.0, o.Y / h * 100.0);

    /// <summary>Random non-overlapping placement (disjoint bounding circles with a gap); shrinks objects when the scene is crowded.</summary>
    static List<SceneObject> Place(List<(ShapeKind Shape, NamedColor Color, bool Target)> specs, int w, int h, SyntheticRandom rng, out bool[] isTarget)
    {
        int n = Math.Max(1, specs.Count);
        float minDim = Math.Min(w, h);
        float rMax = (float)Math.Min(minDim * 0.13, Math.Sqrt(w * h * 0.3 / (Math.PI * n)));
        float margin = minDim * 0.015f;
        for (int attempt = 0; ; attempt++)
        {
            var placed = new List<SceneObject>();
            bool ok = true;
            foreach (var (shape, color, _) in specs)
            {
                float r = rMax * rng.UniformF(0.5f, 1f);
                r = Math.Max(r, minDim * 0.02f);
                SceneObject? obj = null;
                for (int t = 0; t < 400 && obj is null; t++)
                {
                    float x = rng.UniformF(margin + r, w - margin - r), y = rng.UniformF(margin + r, h - margin - r);
                    if (placed.All(o => Dist(o.X, o.Y, x, y) >= o.Radius + r + Math.Max(2f, 0.12f * (o.Radius + r))))
                    {
                        // Squares and diamonds stay near upright so a turned square never reads as a diamond.
                        float rot = shape is ShapeKind.Star or ShapeKind.Square or ShapeKind.Diamond ? rng.UniformF(-15, 15) : rng.UniformF(0, 360);
                        bool outline = rng.Chance(0.3) || color.Name is "yellow" or "pink";
                        obj = new SceneObject(shape, color, x, y, r, rot, outline);
                    }
                }
                if (obj is null) { ok = false; break; }
                placed.Add(obj);
            }
            if (ok)
            {
                isTarget = specs.Select(s => s.Target).ToArray();
                return placed;
            }
            rMax *= 0.85f;
            if (attempt > 30) throw new InvalidOperationException($"could not place {specs.Count} objects without overlap in {w}x{h} px");
        }
    }

    static float Dist(float x1, float y1, float x2, float y2) => MathF.Sqrt((x1 - x2) * (x1 - x2) + (y1 - y2) * (y1 - y2));

    /// <summary>An expression that picks out exactly one object of <paramref name="shape"/> with a clear margin, or null.</summary>
    static (string Expression, SceneObject Target)? Refexp(List<SceneObject> objects, ShapeKind shape, int w, SyntheticRandom rng)
    {
        var same = objects.Where(o => o.Shape == shape).ToList();
        string noun = SceneObject.Singular(shape);
        var options = new List<(string, SceneObject)>();
        if (same.Count >= 2)
        {
            var bySize = same.OrderByDescending(o => o.Radius).ToList();
            if (bySize[0].Radius >= 1.25f * bySize[1].Radius) options.Add(($"largest {noun}", bySize[0]));
            if (bySize[^2].Radius >= 1.25f * bySize[^1].Radius) options.Add(($"smallest {noun}", bySize[^1]));
            var byX = same.OrderBy(o => o.X).ToList();
            if (byX[1].X - byX[0].X >= 0.06f * w) options.Add(($"leftmost {noun}", byX[0]));
            if (byX[^1].X - byX[^2].X >= 0.06f * w) options.Add(($"rightmost {noun}", byX[^1]));
            var byY = same.OrderBy(o => o.Y).ToList();
            if (byY[1].Y - byY[0].Y >= 0.06f * w) options.Add(($"topmost {noun}", byY[0]));
            if (byY[^1].Y - byY[^2].Y >= 0.06f * w) options.Add(($"bottommost {noun}", byY[^1]));
        }
        foreach (var g in same.GroupBy(o => o.Color.Name).Where(g => g.Count() == 1))
            if (same.Count >= 2) options.Add(($"{g.Key} {noun}", g.First()));
        if (options.Count == 0) return null;
        return rng.Pick(options);
    }
}
