using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Molmo.Runtime;

/// <summary>
/// Weight-only int8 (<see cref="TryLinear"/>) and int4 (<see cref="TryLinearInt4"/>) products of decode steps on CUDA (up to <see cref="MaxRows"/> rows): the kernels of
/// Runtime/Native/quant_gemv.cu read each quantised weight once, where dequantising to bf16 for cuBLAS reads it, writes a bf16
/// copy and reads that again. The kernel ships as PTX built here with clang (build/quant_gemv_ptx.sh), so a user needs no
/// compiler: it is loaded through the CUDA driver API (libcuda, which every CUDA machine has), compiled by the driver for the
/// GPU in use, and checked once per device against the dequantised product before it is used. Where any of that fails, the
/// quantised layers keep the dequantising route, after one note on stderr that says why.
/// Launches go to the stream libtorch issues onto (<see cref="CudaGraph.CurrentStream"/>), so they are ordered with its work
/// and, while a CUDA graph records a decode step on its side stream, recorded into the graph with it.
/// </summary>
internal static unsafe class CudaQuantGemv
{
    /// <summary>Most rows of x one launch takes (MAXM in the kernel).</summary>
    public const int RowsPerLaunch = 8;

    /// <summary>
    /// Most rows of x the kernel serves, one launch per <see cref="RowsPerLaunch"/>: each launch reads the int8 weights once,
    /// so two launches still read less than the dequantising route (1 byte per weight, then 2 written and 2 read again);
    /// larger batches go through cuBLAS.
    /// </summary>
    public const int MaxRows = 16;
    /// <summary>Threads a block (the kernel's SPLIT warps), and weight rows a warp takes (its ROWS).</summary>
    internal const int ThreadsPerBlock = 128, RowsPerWarp = 4;
    internal const string EntryPoint = "int8_gemv_bf16", EntryPointOneRow = "int8_gemv_bf16_1";
    internal const string EntryPointSplit = "int8_gemv_bf16_split", EntryPointSplitOneRow = "int8_gemv_bf16_split_1";
    /// <summary>The int4 kernels (Model/Int4Quantizer's layout, groups of 64), shared out by columns only.</summary>
    internal const string EntryPointInt4 = "int4_gemv_bf16_split", EntryPointInt4OneRow = "int4_gemv_bf16_split_1";
    internal const string PtxResource = "quant_gemv.ptx";

    /// <summary>Whether int8 and int4 layers on CUDA may use the kernels (default true; false: they dequantise for cuBLAS).
    /// Per thread, for tests and benchmarks.</summary>
    internal static bool Enabled { get => !_disabled; set => _disabled = !value; }
    [ThreadStatic] static bool _disabled;

    /// <summary>
    /// Whether the kernel shares a matrix out by columns (default true): the four warps of a block take the same four rows,
    /// each a quarter of the columns, so that a matrix of few rows (7B-D's ff_out: 3584) still fills the GPU with loads in
    /// flight. False: by rows, each warp four rows of its own and all their columns (16 rows a block), the sharing first
    /// measured, kept as the benchmark's baseline (its weights widened as by columns). Per thread.
    /// </summary>
    internal static bool SplitColumns { get => !_byRows; set => _byRows = !value; }
    [ThreadStatic] static bool _byRows;

    /// <summary>The route int8 products of decode steps take on the calling thread (a CUDA graph records the one in force).</summary>
    internal static Int8Route Route => !Enabled ? Int8Route.Dequantised : SplitColumns ? Int8Route.ByColumns : Int8Route.ByRows;

    /// <summary>Why the kernel is not used on a device (null: it is, or has not been tried), for reports.</summary>
    public static string? Unavailable(int device) => Kernels.TryGetValue(device, out var k) ? k.Error : null;

    /// <summary>Why the int4 kernel is not used on a device (null: it is, or has not been tried).</summary>
    public static string? Int4Unavailable(int device) => Kernels.TryGetValue(device, out var k) ? k.Error ?? k.Int4Error : null;

    static readonly ConcurrentDictionary<int, Kernel> Kernels = new();

    /// <summary>Forgets the kernels loaded so far, so that the next use loads them again as a fresh process would (tests).</summary>
    internal static void ForgetLoaded() => Kernels.Clear();

    /// <summary>Launches of the int8 kernels so far in this process (self-checks included), for tests and reports.</summary>
    internal static long Launches => Interlocked.Read(ref _launches);
    /// <summary>Launches of the int4 kernels so far (self-checks included).</summary>
    internal static long Int4Launches => Interlocked.Read(ref _int4Launches);
    static long _launches, _int4Launches;

    /// <summary>
    /// x [..., K] (bf16, CUDA) times int8 weight [N, K] with float32 row scales (+ bf16 bias) → [..., N] bf16, or null when the
    /// kernel does not apply (other dtypes, more than <see cref="MaxRows"/> rows, K not a multiple of 16, unaligned data,
    /// kernel unavailable): the caller then takes the libtorch route.
    /// </summary>
    public static Tensor? TryLinear(Tensor x, Tensor weight, Tensor scale, Tensor? bias)
    {
        if (!Enabled || x.device_type != TorchSharp.DeviceType.CUDA || x.dtype != ScalarType.BFloat16
            || weight.dtype != ScalarType.Int8 || scale.dtype != ScalarType.Float32 || weight.dim() != 2
            || (bias is not null && bias.dtype != ScalarType.BFloat16))
            return null;
        long n = weight.shape[0], k = weight.shape[1];
        if (k % 16 != 0 || n > int.MaxValue || k > int.MaxValue || x.shape[^1] != k) return null;
        long rows = x.NumberOfElements / k;
        if (rows < 1 || rows > MaxRows || !weight.is_contiguous() || !scale.is_contiguous()) return null;
        int device = Math.Max(0, (int)x.device.index);
        // Loading compiles the PTX and checks the kernel (reading its result back), which must not happen while a stream
        // captures; a graph's warm-up steps, run before, load it.
        if (CudaGraph.Capturing && !Kernels.ContainsKey(device)) return null;
        var kernel = Kernels.GetOrAdd(device, Kernel.Load);
        if (kernel.Error is not null) return null;
        bool split = SplitColumns;
        return LaunchRows(x, bias, rows, n, k, (xs, b, ys, count) => kernel.TryLaunch(weight, scale, xs, b, ys, (int)n, (int)k, count, split));
    }

    /// <summary>y [..., n] bf16 for x [..., k], <see cref="RowsPerLaunch"/> rows of x a launch; null if a launch declined.</summary>
    static Tensor? LaunchRows(Tensor x, Tensor? bias, long rows, long n, long k, Func<Tensor, Tensor?, Tensor, int, bool> launch)
    {
        using var scope = NewDisposeScope();
        var xc = x.reshape(rows, k).contiguous();
        var bc = bias?.contiguous();
        var y = empty([rows, n], ScalarType.BFloat16, x.device);
        for (long r = 0; r < rows; r += RowsPerLaunch)
        {
            long count = Math.Min(RowsPerLaunch, rows - r);
            if (!launch(xc.narrow(0, r, count), bc, y.narrow(0, r, count), (int)count)) return null;
        }
        var shape = x.shape.ToArray();
        shape[^1] = n;
        return y.view(shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// x [..., K] (bf16, CUDA) times packed int4 weight [N, K/2] with float32 scales [N, K/64] (+ bf16 bias) → [..., N] bf16,
    /// or null when the kernel does not apply (other dtypes, more than <see cref="MaxRows"/> rows, K not a multiple of 128,
    /// unaligned data, kernel unavailable): the caller then dequantises for cuBLAS. The same loading, self-check and stream as
    /// int8's; int4 has the by-columns sharing only.
    /// </summary>
    public static Tensor? TryLinearInt4(Tensor x, Tensor packed, Tensor scale, Tensor? bias)
    {
        if (!Enabled || x.device_type != TorchSharp.DeviceType.CUDA || x.dtype != ScalarType.BFloat16
            || packed.dtype != ScalarType.Byte || scale.dtype != ScalarType.Float32 || packed.dim() != 2
            || (bias is not null && bias.dtype != ScalarType.BFloat16))
            return null;
        long n = packed.shape[0], k = packed.shape[1] * 2;
        if (k % 128 != 0 || n > int.MaxValue || k > int.MaxValue || x.shape[^1] != k || !scale.shape.SequenceEqual(new[] { n, k / 64 })) return null;
        long rows = x.NumberOfElements / k;
        if (rows < 1 || rows > MaxRows || !packed.is_contiguous() || !scale.is_contiguous()) return null;
        int device = Math.Max(0, (int)x.device.index);
        if (CudaGraph.Capturing && !Kernels.ContainsKey(device)) return null;
        var kernel = Kernels.GetOrAdd(device, Kernel.Load);
        if (kernel.Error is not null || kernel.Int4Error is not null) return null;
        return LaunchRows(x, bias, rows, n, k, (xs, b, ys, count) => kernel.TryLaunchInt4(packed, scale, xs, b, ys, (int)n, (int)k, count));
    }

    /// <summary>The kernel loaded into one device's primary context (or why it could not be).</summary>
    sealed class Kernel
    {
        public string? Error;
        /// <summary>Why the int4 kernels failed their own self-check (int8's stay in use).</summary>
        public string? Int4Error;
        nint _context, _function, _functionOneRow, _functionSplit, _functionSplitOneRow, _functionInt4, _functionInt4OneRow;

        public static Kernel Load(int device)
        {
            var kernel = new Kernel();
            try
            {
                kernel.Init(device);
                kernel.SelfCheck(device);
            }
            catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException or ExternalException)
            {
                kernel.Error = e.Message;
                Console.Error.WriteLine($"molmo: int8 layers on cuda:{device} dequantise to bf16 every step; the int8 kernel is not used: {e.Message}");
                return kernel;
            }
            try { kernel.SelfCheckInt4(device); }
            catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException or ExternalException)
            {
                kernel.Int4Error = e.Message;
                Console.Error.WriteLine($"molmo: int4 layers on cuda:{device} dequantise to bf16 every step; the int4 kernel is not used: {e.Message}");
            }
            return kernel;
        }

        void Init(int device)
        {
            var api = DriverApi.Value;
            if (api.Error is not null) throw new InvalidOperationException(api.Error);
            api.Check(api.Init(0), "cuInit");
            int dev;
            api.Check(api.DeviceGet(&dev, device), "cuDeviceGet");
            nint ctx;
            api.Check(api.PrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
            _context = ctx;
            MakeCurrent(api);
            using var stream = typeof(CudaQuantGemv).Assembly.GetManifestResourceStream(PtxResource)
                ?? throw new InvalidOperationException($"the embedded {PtxResource} is missing");
            var ptx = new byte[stream.Length + 1];                 // NUL-terminated for cuModuleLoadData
            stream.ReadExactly(ptx, 0, (int)stream.Length);
            nint module;
            fixed (byte* p = ptx)
            {
                // The driver compiles the PTX for this GPU here.
                int rc = api.ModuleLoadData(&module, p);
                if (rc != 0) throw new InvalidOperationException($"the CUDA driver could not load the kernel's PTX: {api.ErrorName(rc)}");
            }
            _function = Function(api, module, EntryPoint);
            _functionOneRow = Function(api, module, EntryPointOneRow);
            _functionSplit = Function(api, module, EntryPointSplit);
            _functionSplitOneRow = Function(api, module, EntryPointSplitOneRow);
            _functionInt4 = Function(api, module, EntryPointInt4);
            _functionInt4OneRow = Function(api, module, EntryPointInt4OneRow);
        }

        static nint Function(CudaDriver api, nint module, string entryPoint)
        {
            nint function;
            var name = Marshal.StringToCoTaskMemUTF8(entryPoint);
            try { api.Check(api.ModuleGetFunction(&function, module, (byte*)name), $"cuModuleGetFunction({entryPoint})"); }
            finally { Marshal.FreeCoTaskMem(name); }
            return function;
        }

        /// <summary>The kernels (one row of x and several, shared out by columns and by rows) against the dequantised product
        /// on a small problem with a bias, an uneven row count and three rows of x: within two bf16 roundings, or none is
        /// used.</summary>
        void SelfCheck(int device)
        {
            using var scope = NewDisposeScope();
            var dev = new Device(TorchSharp.DeviceType.CUDA, device);
            using var gen = new TorchSharp.torch.Generator(7);
            var w = randn([37, 528], generator: gen);
            var q = (w / w.abs().amax(new long[] { 1 }, keepdim: true)).mul(Scalars.Of(127)).round().to(ScalarType.Int8).to(dev);
            var s = rand(new long[] { 37 }, generator: gen).mul(Scalars.Of(0.02)).add(Scalars.Of(0.001), Scalars.One).to(dev);
            var x = randn([3, 528], generator: gen).to(ScalarType.BFloat16).to(dev);
            var b = randn(new long[] { 37 }, generator: gen).to(ScalarType.BFloat16).to(dev);
            var want = nn.functional.linear(x.to(ScalarType.Float32), q.to(ScalarType.Float32) * s.unsqueeze(1), b.to(ScalarType.Float32));
            foreach (bool split in new[] { true, false })
                Check(want, (y, m) => TryLaunch(q, s, x, b, y, 37, 528, m, split), split ? " (by columns)" : " (by rows)");
        }

        /// <summary>
        /// Both kernels of a kind against <paramref name="want"/> [3, N] (float32): three rows of x at once, and the first row
        /// alone, each within two bf16 roundings of it; throws saying by how much otherwise.
        /// </summary>
        static void Check(Tensor want, Func<Tensor, int, bool> launch, string what)
        {
            var y = empty(want.shape, ScalarType.BFloat16, want.device);
            var y1 = empty([1, want.shape[1]], ScalarType.BFloat16, want.device);
            if (!launch(y, 3) || !launch(y1, 1)) throw new InvalidOperationException("its first launch failed");
            foreach (var (got, expected) in new[] { (y, want), (y1, want.narrow(0, 0, 1)) })
            {
                var off = (got.to(ScalarType.Float32) - expected).abs();
                if ((off - expected.abs().mul(Scalars.Of(2.0 / 256))).sub(Scalars.Of(1e-3)).max().item<float>() > 0)
                    throw new InvalidOperationException($"its self-check{what} disagreed with the dequantised product by up to {off.max().item<float>()}");
            }
        }

        /// <summary>The int4 kernels against the dequantised product, as <see cref="SelfCheck"/> does for int8's.</summary>
        void SelfCheckInt4(int device)
        {
            using var scope = NewDisposeScope();
            var dev = new Device(TorchSharp.DeviceType.CUDA, device);
            using var gen = new TorchSharp.torch.Generator(7);
            var (packed, s) = Model.Int4Quantizer.Quantize(randn([37, 640], generator: gen));   // 640: a last partial step of a warp
            var w = Model.Int4Quantizer.Dequantize(packed, s, ScalarType.Float32).to(dev);
            (packed, s) = (packed.to(dev), s.to(dev));
            var x = randn([3, 640], generator: gen).to(ScalarType.BFloat16).to(dev);
            var b = randn(new long[] { 37 }, generator: gen).to(ScalarType.BFloat16).to(dev);
            var want = nn.functional.linear(x.to(ScalarType.Float32), w, b.to(ScalarType.Float32));
            Check(want, (y, m) => TryLaunchInt4(packed, s, x, b, y, 37, 640, m), "");
        }

        public bool TryLaunchInt4(Tensor packed, Tensor scale, Tensor x, Tensor? bias, Tensor y, int n, int k, int m) =>
            Launch(m == 1 ? _functionInt4OneRow : _functionInt4, RowsPerWarp, packed, scale, x, bias, y, n, k, m, int4: true);

        public bool TryLaunch(Tensor w, Tensor scale, Tensor x, Tensor? bias, Tensor y, int n, int k, int m, bool split) =>
            // By columns a block takes RowsPerWarp rows (its warps share them); by rows, each warp its own RowsPerWarp.
            Launch(split ? (m == 1 ? _functionSplitOneRow : _functionSplit) : (m == 1 ? _functionOneRow : _function),
                   split ? RowsPerWarp : ThreadsPerBlock / 32 * RowsPerWarp, w, scale, x, bias, y, n, k, m, int4: false);

        bool Launch(nint function, int rowsPerBlock, Tensor w, Tensor scale, Tensor x, Tensor? bias, Tensor y, int n, int k, int m, bool int4)
        {
            ulong pw = Ptr(w), ps = Ptr(scale), px = Ptr(x), pb = bias is null ? 0 : Ptr(bias), py = Ptr(y);
            if (((pw | px) & 15) != 0) return false;                // the kernel's 16-byte loads (y is written 2 bytes at a time)
            var api = DriverApi.Value;
            MakeCurrent(api);
            void** args = stackalloc void*[8];
            args[0] = &pw; args[1] = &ps; args[2] = &px; args[3] = &pb; args[4] = &py;
            args[5] = &n; args[6] = &k; args[7] = &m;
            uint blocks = (uint)((n + rowsPerBlock - 1) / rowsPerBlock);
            int rc = api.LaunchKernel(function, blocks, 1, 1, ThreadsPerBlock, 1, 1, 0, CudaGraph.CurrentStream(), args, null);
            if (rc != 0) throw new InvalidOperationException($"launching the {(int4 ? "int4" : "int8")} kernel failed: {api.ErrorName(rc)}");
            Interlocked.Increment(ref int4 ? ref _int4Launches : ref _launches);
            return true;
        }

        static ulong Ptr(Tensor t) => (ulong)Checkpoints.NativeTensor.DataPointer(t);

        void MakeCurrent(CudaDriver api)
        {
            nint current;
            api.Check(api.CtxGetCurrent(&current), "cuCtxGetCurrent");
            if (current != _context) api.Check(api.CtxSetCurrent(_context), "cuCtxSetCurrent");
        }
    }

    static readonly Lazy<CudaDriver> DriverApi = new(CudaDriver.Load);
}

/// <summary>How int8 products of CUDA decode steps are computed: the kernel sharing each matrix out by columns or by rows
/// (<see cref="CudaQuantGemv.SplitColumns"/>), or the matrices dequantised for cuBLAS.</summary>
internal enum Int8Route { ByColumns, ByRows, Dequantised }

/// <summary>The few CUDA driver API entry points <see cref="CudaQuantGemv"/> needs, from libcuda.so.1.</summary>
internal sealed unsafe class CudaDriver
{
    public string? Error;
    public delegate* unmanaged<uint, int> Init;
    public delegate* unmanaged<int*, int, int> DeviceGet;
    public delegate* unmanaged<nint*, int, int> PrimaryCtxRetain;
    public delegate* unmanaged<nint*, int> CtxGetCurrent;
    public delegate* unmanaged<nint, int> CtxSetCurrent;
    public delegate* unmanaged<nint*, byte*, int> ModuleLoadData;
    public delegate* unmanaged<nint*, nint, byte*, int> ModuleGetFunction;
    public delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int> LaunchKernel;
    delegate* unmanaged<int, byte**, int> _errorName;

    public static CudaDriver Load()
    {
        var d = new CudaDriver();
        if (!NativeLibrary.TryLoad("libcuda.so.1", out var h))
        {
            d.Error = "the CUDA driver library (libcuda.so.1) could not be loaded";
            return d;
        }
        try
        {
            nint F(string name) => NativeLibrary.GetExport(h, name);
            d.Init = (delegate* unmanaged<uint, int>)F("cuInit");
            d.DeviceGet = (delegate* unmanaged<int*, int, int>)F("cuDeviceGet");
            d.PrimaryCtxRetain = (delegate* unmanaged<nint*, int, int>)F("cuDevicePrimaryCtxRetain");
            d.CtxGetCurrent = (delegate* unmanaged<nint*, int>)F("cuCtxGetCurrent");
            d.CtxSetCurrent = (delegate* unmanaged<nint, int>)F("cuCtxSetCurrent");
            d.ModuleLoadData = (delegate* unmanaged<nint*, byte*, int>)F("cuModuleLoadData");
            d.ModuleGetFunction = (delegate* unmanaged<nint*, nint, byte*, int>)F("cuModuleGetFunction");
            d.LaunchKernel = (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)F("cuLaunchKernel");
            d._errorName = (delegate* unmanaged<int, byte**, int>)F("cuGetErrorName");
        }
        catch (EntryPointNotFoundException e) { d.Error = $"the CUDA driver library lacks an entry point: {e.Message}"; }
        return d;
    }

    public string ErrorName(int rc)
    {
        byte* s = null;
        return _errorName != null && _errorName(rc, &s) == 0 && s != null ? $"{Marshal.PtrToStringUTF8((nint)s)} ({rc})" : $"CUDA error {rc}";
    }

    public void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException($"{what} failed: {ErrorName(rc)}");
    }
}
