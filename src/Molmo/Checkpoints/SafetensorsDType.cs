using TorchSharp;

namespace Molmo.Checkpoints;

/// <summary>The safetensors dtypes this engine reads and writes, with their torch types and sizes.</summary>
public static class SafetensorsDType
{
    public static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => throw new InvalidDataException($"unknown safetensors dtype '{dtype}'"),
    };

    public static torch.ScalarType ToScalarType(string dtype) => dtype switch
    {
        "F32" => torch.ScalarType.Float32,
        "BF16" => torch.ScalarType.BFloat16,
        "F16" => torch.ScalarType.Float16,
        "F64" => torch.ScalarType.Float64,
        "I64" => torch.ScalarType.Int64,
        "I32" => torch.ScalarType.Int32,
        "I16" => torch.ScalarType.Int16,
        "I8" => torch.ScalarType.Int8,
        "U8" => torch.ScalarType.Byte,
        "BOOL" => torch.ScalarType.Bool,
        _ => throw new NotSupportedException($"safetensors dtype '{dtype}' is not supported (supported: F32, BF16, F16, F64, I64, I32, I16, I8, U8, BOOL)"),
    };

    public static string FromScalarType(torch.ScalarType t) => t switch
    {
        torch.ScalarType.Float32 => "F32",
        torch.ScalarType.BFloat16 => "BF16",
        torch.ScalarType.Float16 => "F16",
        torch.ScalarType.Float64 => "F64",
        torch.ScalarType.Int64 => "I64",
        torch.ScalarType.Int32 => "I32",
        torch.ScalarType.Int16 => "I16",
        torch.ScalarType.Int8 => "I8",
        torch.ScalarType.Byte => "U8",
        torch.ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"cannot store torch dtype {t} in safetensors"),
    };

    /// <summary>Floating-point dtypes a model weight may be stored in (quantised formats are rejected).</summary>
    public static bool IsWeightDType(string dtype) => dtype is "F32" or "BF16" or "F16";
}
