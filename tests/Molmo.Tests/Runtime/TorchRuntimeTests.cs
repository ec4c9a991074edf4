using static TorchSharp.torch;

namespace Molmo.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void CpuAndDtypesParse()
    {
        Assert.Equal(TorchSharp.DeviceType.CPU, TorchRuntime.ParseDevice("cpu").type);
        Assert.Equal(ScalarType.BFloat16, TorchRuntime.ParseDType("bf16"));
        var p = TorchRuntime.ParsePlacement("int8", CPU);
        Assert.True(p.Int8Decoder);
        Assert.Equal("int8", TorchRuntime.PlacementName(p));
        var p4 = TorchRuntime.ParsePlacement("int4", CPU);
        Assert.True(p4.Int4Decoder && !p4.Int8Decoder);
        Assert.Equal(ScalarType.BFloat16, p4.DType);
        Assert.Equal("int4", TorchRuntime.PlacementName(p4));
        Assert.NotEqual(p4, new Molmo.Model.ModelPlacement(ScalarType.BFloat16, CPU));
        Assert.Contains("int8 or int4", Assert.Throws<ArgumentException>(() => new Molmo.Model.ModelPlacement(ScalarType.BFloat16, CPU, Int8Decoder: true) { Int4Decoder = true }).Message);
        Assert.Contains("int4", Assert.Throws<ArgumentException>(() => TorchRuntime.ParsePlacement("q3", CPU)).Message);
        Assert.Throws<NotSupportedException>(() => TorchRuntime.ParseDType("fp16"));
        Assert.Contains("unknown dtype", Assert.Throws<ArgumentException>(() => TorchRuntime.ParseDType("fp8")).Message);
        Assert.Contains("cuda:N", Assert.Throws<ArgumentException>(() => TorchRuntime.ParseDevice("cuda:x")).Message);
    }

    [Fact]
    public void CudaWithoutAGpuFailsWithAnActionableMessage()
    {
        if (cuda.is_available()) return;  // on a GPU machine this path is exercised by the real run instead
        var e = Assert.Throws<NotSupportedException>(() => TorchRuntime.ParseDevice("cuda"));
        Assert.Contains("CUDA", e.Message);
        Assert.True(e.Message.Contains("MOLMO_LIBTORCH") || e.Message.Contains("--device cpu"), e.Message);
    }
}
