using Molmo.Model;
using Molmo.Runtime;
using static TorchSharp.torch;

namespace Molmo.Generation;

/// <summary>How greedy decode steps are issued (<see cref="Generator.Steps"/>).</summary>
public enum DecodeSteps
{
    /// <summary>The default: <see cref="CudaGraph"/> on a CUDA device, <see cref="Eager"/> elsewhere. On an H200 a 7B-D
    /// step replayed as a graph decodes 179 tokens/s against 112 issued op by op (docs/benchmarks.md).</summary>
    Auto,
    /// <summary>Each step's ops issued one by one from C#.</summary>
    Eager,
    /// <summary>A step whose tensors keep their shapes (attention over the whole cache, masked per row), issued from C#: what
    /// a CUDA graph records. Runs anywhere; the same tokens as <see cref="Eager"/>.</summary>
    FixedShape,
    /// <summary>The fixed-shape step recorded once as a CUDA graph and replayed: one launch a step instead of ~1,000 ops.
    /// Needs CUDA and the graph shim (<see cref="CudaGraph"/>); elsewhere, or if recording fails, decoding goes on
    /// <see cref="Eager"/> with a note saying why.</summary>
    CudaGraph,
}

/// <summary>What <see cref="DecodeSteps.Auto"/> means on a device.</summary>
public static class DecodeStepsExtensions
{
    /// <summary><paramref name="steps"/> with <see cref="DecodeSteps.Auto"/> made concrete for <paramref name="device"/>.</summary>
    public static DecodeSteps On(this DecodeSteps steps, Device device) =>
        steps != DecodeSteps.Auto ? steps : device.type == TorchSharp.DeviceType.CUDA ? DecodeSteps.CudaGraph : DecodeSteps.Eager;
}

/// <summary>
/// Greedy decode steps of fixed shape for the rows of one KV cache. The input ids, each row's position and the chosen ids
/// live in device buffers that the step itself updates (its argmax becomes the next input, positions advance), so nothing
/// is read back or uploaded between steps and the same step can be replayed as a CUDA graph. Positions are clamped to the
/// cache's last, so a row can never write outside it; the caller stops before a row's cache is full.
/// </summary>
internal sealed class FixedShapeDecoder : IDisposable
{
    readonly MolmoForCausalLM _model;
    readonly KvCache _cache;
    readonly Tensor _ids, _positions, _advance, _keyIndex, _chosen;
    CudaGraph? _graph;

    /// <param name="firstIds">[B] or [B, 1] int64 on the device: each row's next input.</param>
    /// <param name="positions">Each row's next position (what its cache holds).</param>
    /// <param name="advance">Whether a row's position advances after a step (false: an idle row rewrites one scratch slot).</param>
    public FixedShapeDecoder(MolmoForCausalLM model, KvCache cache, Tensor firstIds, int[] positions, bool[] advance)
    {
        _model = model;
        _cache = cache;
        var dev = model.Placement.Device;
        int b = cache.Batch;
        using (NewDisposeScope())
        {
            _ids = zeros([b, 1], ScalarType.Int64, dev).DetachFromDisposeScope();
            _positions = zeros([b], ScalarType.Int64, dev).DetachFromDisposeScope();
            _advance = zeros([b], ScalarType.Int64, dev).DetachFromDisposeScope();
            _keyIndex = Scalars.Arange(0, cache.Capacity, ScalarType.Int64, dev).DetachFromDisposeScope();
            _chosen = zeros([b], ScalarType.Int64, dev).DetachFromDisposeScope();
        }
        try { Restart(firstIds, positions, advance); }
        catch
        {
            Dispose();
            throw;
        }
    }

    static readonly HashSet<string> GraphNotes = [];

    /// <summary>
    /// The fixed-shape steps for <paramref name="mode"/> (null for <see cref="DecodeSteps.Eager"/>), recorded as a CUDA graph
    /// for <see cref="DecodeSteps.CudaGraph"/>. Where a graph cannot be had, null (eager steps), with the reason printed once.
    /// </summary>
    public static FixedShapeDecoder? Create(DecodeSteps mode, MolmoForCausalLM model, KvCache cache, Tensor firstIds, int[] positions, bool[] advance)
    {
        mode = mode.On(model.Placement.Device);
        if (mode == DecodeSteps.Eager) return null;
        string? why = mode == DecodeSteps.CudaGraph ? CudaGraph.Unavailable(model.Placement.Device) : null;
        if (why is null)
        {
            var steps = new FixedShapeDecoder(model, cache, firstIds, positions, advance);
            if (mode != DecodeSteps.CudaGraph) return steps;
            // Recording can fail in libtorch itself (an op that may not run while a stream records), which TorchSharp raises
            // as an ExternalException; whatever the reason, decoding goes on without the graph.
            try { steps.RecordGraph(); return steps; }
            catch (Exception e) when (e is not OperationCanceledException) { why = $"recording failed: {e.Message.Split('\n')[0]}"; }
            steps.Dispose();
        }
        CudaGraph.LastFallbackReason = why;
        lock (GraphNotes)
            if (GraphNotes.Add(why)) Console.Error.WriteLine($"note: decoding without CUDA graphs: {why}");
        return null;
    }

    /// <summary>
    /// Points the steps at new rows (a later request taking over this decoder and its cache, <see cref="DecodeContexts"/>):
    /// each row's next input from <paramref name="firstIds"/> ([B] or [B, 1] int64 on the device), its position and whether it
    /// advances. Queued on the device, in order with the steps; a recorded graph replays with the new values.
    /// </summary>
    public void Restart(Tensor firstIds, int[] positions, bool[] advance)
    {
        int b = _cache.Batch;
        if (positions.Length != b || advance.Length != b) throw new ArgumentException($"{b} rows need {b} positions and advance flags");
        if (positions.Any(p => p < 0 || p >= _cache.Capacity)) throw new ArgumentOutOfRangeException(nameof(positions), "a position is outside the cache");
        using var scope = NewDisposeScope();
        _ids.copy_(firstIds.reshape(b, 1));   // converted to int64 on the device if need be
        _positions.copy_(HostTransfer.Int64(positions.Select(p => (long)p).ToArray(), [b], _ids.device));
        _advance.copy_(HostTransfer.Int64(advance.Select(a => a ? 1L : 0L).ToArray(), [b], _ids.device));
    }

    /// <summary>Sets a row's next input (when given), position and whether it advances; queued on the device, in order with the steps.</summary>
    public void SetRow(int row, long? inputId, long position, bool advance)
    {
        if (position < 0 || position >= _cache.Capacity) throw new ArgumentOutOfRangeException(nameof(position), $"position {position} is outside the cache ({_cache.Capacity})");
        if (inputId is { } id) using (var v = _ids.narrow(0, row, 1)) using (var s = Scalars.New(id)) v.fill_(s);
        using (var v = _positions.narrow(0, row, 1)) v.fill_(Scalars.Of(position));
        using (var v = _advance.narrow(0, row, 1)) v.fill_(Scalars.Of(advance ? 1L : 0L));
    }

    /// <summary>Whether each step replays a recorded CUDA graph.</summary>
    public bool IsGraph => _graph is not null;

    /// <summary>How steps are issued through <paramref name="steps"/> (null: eagerly).</summary>
    public static DecodeSteps Kind(FixedShapeDecoder? steps) =>
        steps is null ? DecodeSteps.Eager : steps.IsGraph ? DecodeSteps.CudaGraph : DecodeSteps.FixedShape;

    /// <summary>[B] int64 on the device: the ids the last step chose (overwritten by the next step).</summary>
    public Tensor Chosen => _chosen;

    /// <summary>Records the step as a CUDA graph. Its warm-up runs really decode, so the ids and positions are restored
    /// afterwards (the keys and values they wrote lie beyond every row's position: masked, and overwritten when reached).</summary>
    public void RecordGraph()
    {
        using var ids = _ids.clone();
        using var positions = _positions.clone();
        _graph = CudaGraph.Record(_model.Placement.Device, Run);
        _ids.copy_(ids);
        _positions.copy_(positions);
    }

    /// <summary>Queues one step for every row.</summary>
    public void Step()
    {
        if (_graph is not null) _graph.Replay();
        else Run();
    }

    void Run()
    {
        using var scope = NewDisposeScope();
        var logits = _model.ForwardFixedShape(_ids, _cache, _positions, _keyIndex);
        var id = logits.view(_cache.Batch, -1).argmax(-1);
        _chosen.copy_(id);
        _ids.copy_(id.view(_cache.Batch, 1));
        _positions.add_(_advance, Scalars.One).clamp_max_(Scalars.Of(_cache.Capacity - 1));
    }

    public void Dispose()
    {
        _graph?.Dispose();
        foreach (var t in new[] { _ids, _positions, _advance, _keyIndex, _chosen }) t.Dispose();
    }
}
