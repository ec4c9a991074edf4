using Molmo.Synthetic.Counting;
using SkiaSharp;

namespace Molmo.Synthetic.Tests;

public class CountSceneTests
{
    static readonly string[] Shapes = ["circle", "square", "triangle", "star", "diamond", "hexagon"];

    [Fact]
    public void CountsPointsAndLabelsAgreeWithThePlacedObjects()
    {
        var methods = new HashSet<string>();
        int many = 0, zero = 0;
        for (int i = 0; i < 150; i++)
        {
            var ex = CountSceneGenerator.Generate(3, i, 128);
            var row = ex.Row;
            methods.Add(row.CollectionMethod);
            if (row.Count > 10) many++;
            if (row.Count == 0) zero++;

            // Recompute the targets from the object list and the label alone.
            var words = row.Label.Split(' ');
            List<Parquet.ObjectCell> expected;
            if (row.CollectionMethod == "refexp")
            {
                string shape = words[^1];
                var same = row.Objects.Where(o => o.Shape == shape).ToList();
                expected = words[0] switch
                {
                    "largest" => [same.MaxBy(o => o.Radius)!],
                    "smallest" => [same.MinBy(o => o.Radius)!],
                    "leftmost" => [same.MinBy(o => o.X)!],
                    "rightmost" => [same.MaxBy(o => o.X)!],
                    "topmost" => [same.MinBy(o => o.Y)!],
                    "bottommost" => [same.MaxBy(o => o.Y)!],
                    _ => same.Where(o => o.Color == words[0]).ToList(),
                };
                Assert.Single(expected);
                Assert.True(same.Count >= 2, $"row {i}: a referring expression needs a choice ({row.Label})");
            }
            else
            {
                string shape = words[^1].TrimEnd('s');
                Assert.Contains(shape, Shapes);
                string? color = words.Length == 2 ? words[0] : null;
                expected = row.Objects.Where(o => o.Shape == shape && (color is null || o.Color == color)).ToList();
            }
            Assert.Equal(expected.Count, row.Count);
            Assert.Equal(row.Count, row.Points.Count);

            // Every point lies inside exactly one target object, and each target gets one point at its centre.
            foreach (var p in row.Points)
            {
                double px = p.X / 100 * row.ImageWidth, py = p.Y / 100 * row.ImageHeight;
                var hits = ex.Objects.Where(o => o.Contains(px, py)).ToList();
                Assert.Single(hits);
                Assert.Contains(expected, o => Math.Abs(o.X - hits[0].X) < 1e-3 && Math.Abs(o.Y - hits[0].Y) < 1e-3);
            }
            Assert.Equal(expected.Count, expected.Select(o => (o.X, o.Y)).Distinct().Count());

            // The answer text carries exactly these points (one decimal) and the right total.
            var answerPoints = AnswerText.Points(row.Answer);
            Assert.Equal(row.Points.OrderBy(p => p.X * 10000 + p.Y).Select(p => (AnswerText.OneDecimal(p.X), AnswerText.OneDecimal(p.Y))),
                answerPoints.Select(p => (AnswerText.OneDecimal(p.X), AnswerText.OneDecimal(p.Y))));
            if (row.Count == 0) Assert.Equal("There are none.", row.Answer);
            else if (row.CollectionMethod == "counting") Assert.EndsWith($" shows a total of {row.Count}.", row.Answer);
            else Assert.StartsWith(row.Count == 1 ? "<point " : "<points ", row.Answer);
            Assert.Contains(row.Label, row.Question);
        }
        Assert.Equal(3, methods.Count);
        Assert.True(many > 0, "no scene with more than 10 targets");
        Assert.True(zero > 0, "no scene without targets");
    }

    [Fact]
    public void ObjectsNeverOverlapAndStayInsideTheImage()
    {
        for (int i = 0; i < 80; i++)
        {
            var ex = CountSceneGenerator.Generate(9, i, 96);
            var o = ex.Objects;
            for (int a = 0; a < o.Count; a++)
            {
                Assert.InRange(o[a].X - o[a].Radius, 0, ex.Width);
                Assert.InRange(o[a].X + o[a].Radius, 0, ex.Width);
                Assert.InRange(o[a].Y - o[a].Radius, 0, ex.Height);
                Assert.InRange(o[a].Y + o[a].Radius, 0, ex.Height);
                for (int b = a + 1; b < o.Count; b++)
                {
                    double d = Math.Sqrt((o[a].X - o[b].X) * (o[a].X - o[b].X) + (o[a].Y - o[b].Y) * (o[a].Y - o[b].Y));
                    Assert.True(d >= o[a].Radius + o[b].Radius, $"scene {i}: objects {a} and {b} overlap");
                }
                // Every polygon vertex lies within the object's circle, so disjoint circles mean disjoint shapes.
                foreach (var v in o[a].Polygon() ?? [])
                    Assert.True(SKPoint.Distance(v, new SKPoint(o[a].X, o[a].Y)) <= o[a].Radius + 1e-3);
            }
        }
    }

    [Fact]
    public void PixelAtEveryPointHasTheObjectColour()
    {
        for (int i = 0; i < 30; i++)
        {
            var ex = CountSceneGenerator.Generate(21, i, 160);
            using var bmp = SKBitmap.Decode(ex.Row.Image.Bytes);
            Assert.Equal(ex.Width, bmp.Width);
            Assert.Equal(ex.Height, bmp.Height);
            foreach (var o in ex.Objects)
            {
                var c = bmp.GetPixel((int)o.X, (int)o.Y);
                var want = o.Color.Color;
                Assert.True(Math.Abs(c.Red - want.Red) + Math.Abs(c.Green - want.Green) + Math.Abs(c.Blue - want.Blue) < 40,
                    $"scene {i}: {o.Color.Name} {o.Shape} at ({o.X:F1},{o.Y:F1}) shows {c}");
            }
        }
    }
}
