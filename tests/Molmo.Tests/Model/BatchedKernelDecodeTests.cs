using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using Molmo.Model.Kernels;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// Batched decode steps in bf16 and int8 on the CPU go through the kernels' 4 × 4 register blocks (and their partial blocks):
/// several requests prefilled into rows of one KV cache, then teacher-forced together along the reference's greedy ids, stay
/// within the bounds the one-at-a-time path is held to (bf16: 0.25 absolute of the float32 reference, as in
/// <see cref="Bf16KernelDecodeTests"/>) and close to the one-at-a-time logits of the same model (int8, and bf16 with AVX2:
/// equal to them).
/// </summary>
public class BatchedKernelDecodeTests
{
    [Theory]
    [InlineData("bf16", 4)]   // one full block of input rows
    [InlineData("bf16", 3)]   // a partial block
    [InlineData("int8", 5)]   // a block and a partial block
    [InlineData("int8", 2)]
    public void BatchedStepsStayWithinTheBoundsOfTheSingleSequencePath(string dtype, int rows)
    {
        var dir = Golden.TinyDir("tiny_d_style");
        using var model = ModelLoader.Load(dir, Molmo.Runtime.TorchRuntime.ParsePlacement(dtype, CPU));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var cases = Enumerable.Range(0, rows).Select(i => i % 2 == 0 ? "img_100x100" : "text_only").ToArray();
        var inputs = cases.Select(c => TinyInputs.Load("tiny_d_style", c)).ToArray();
        var greedy = cases.Select(c => Golden.GreedyIds(Path.Combine(dir, $"{c}.greedy.json"))).ToArray();
        var reference = cases.Select(c => Golden.Read(Path.Combine(dir, $"{c}.golden.safetensors"), "greedy.step_logits")).ToArray();
        int steps = Math.Min(8, greedy.Min(g => g.Length));
        var options = new ForwardOptions { AllLogits = false };

        // One at a time, teacher-forced.
        var single = Enumerable.Range(0, rows).Select(b => TeacherForced.Logits(model, inputs[b], greedy[b], steps)).ToArray();

        // Together: each request prefilled into its own row, then one forward per step for all rows.
        using var batch = model.NewCache(rows, inputs.Max(x => (int)x.InputIds.shape[1]) + steps);
        var last = new Tensor[rows];
        for (int b = 0; b < rows; b++)
        {
            using var row = batch.Row(b);
            using var output = model.Forward(inputs[b], row, options);
            batch.SetRowLength(b, row.Length);
            last[b] = output.Logits.view(-1).to(ScalarType.Float32);
        }
        double worstReference = 0, worstSingle = 0;
        for (int i = 0; i < steps; i++)
        {
            for (int b = 0; b < rows; b++)
            {
                worstReference = Math.Max(worstReference, (last[b] - reference[b][i]).abs().max().item<float>());
                worstSingle = Math.Max(worstSingle, (last[b] - single[b][i]).abs().max().item<float>());
            }
            var next = tensor(Enumerable.Range(0, rows).Select(b => greedy[b][i]).ToArray(), [rows, 1]);
            using var output = model.Forward(new ModelInputs(next), batch, options);
            var logits = output.Logits.view(rows, -1).to(ScalarType.Float32);
            for (int b = 0; b < rows; b++) last[b] = logits[b];
        }
        Assert.True(worstReference <= 0.25, $"{dtype}, {rows} rows: batched logits deviate from the reference by {worstReference}");
        Assert.True(worstSingle <= 0.1, $"{dtype}, {rows} rows: batched logits deviate from one at a time by {worstSingle}");
        // int8's kernel sums the same integers in the same order for a row alone and in a batch (CpuGemv.Int8.cs), as bf16's
        // does with AVX2 (CpuGemv.Bf16BatchInvariant), and the rest of a step treats rows alike: a request's logits are the
        // same bits either way. (A CPU without the kernels, neither AVX2 nor AVX-512, dequantises for libtorch's GEMM, whose
        // sums depend on the row count; bf16 with AVX-512 sums a single row in another order than a block: the bound above.)
        if (dtype == "int8" && CpuGemv.IsSupported || dtype == "bf16" && CpuGemv.Bf16BatchInvariant)
            Assert.True(worstSingle == 0, $"{dtype}, {rows} rows: batched logits differ from one at a time by {worstSingle}");
    }
}
