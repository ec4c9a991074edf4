using Parquet.Schema;

namespace Molmo.Data.Parquet;

/// <summary>
/// Arrow-style names for Parquet column types, as the PixMo dataset cards write them
/// (<c>string</c>, <c>float64</c>, <c>list&lt;struct&lt;x: float64, y: float64&gt;&gt;</c>).
/// Struct members are listed in name order so that writers that order them differently still compare equal.
/// Nullability is ignored: Hugging Face files mark nearly everything optional.
/// </summary>
public static class ColumnType
{
    public static string Describe(Field field) => field switch
    {
        ListField list => $"list<{Describe(list.Item)}>",
        StructField st => "struct<" + string.Join(", ", st.Fields.OrderBy(f => f.Name, StringComparer.Ordinal)
                                                             .Select(f => $"{f.Name}: {Describe(f)}")) + ">",
        MapField map => $"map<{Describe(map.Key)}, {Describe(map.Value)}>",
        DataField data => data.IsArray ? $"list<{Primitive(data.ClrType)}>" : Primitive(data.ClrType),
        _ => field.GetType().Name,
    };

    static string Primitive(Type t)
    {
        if (t == typeof(ReadOnlyMemory<char>) || t == typeof(string)) return "string";
        if (t == typeof(ReadOnlyMemory<byte>) || t == typeof(byte[])) return "binary";
        if (t == typeof(double)) return "float64";
        if (t == typeof(float)) return "float32";
        if (t == typeof(long)) return "int64";
        if (t == typeof(int)) return "int32";
        if (t == typeof(short)) return "int16";
        if (t == typeof(sbyte)) return "int8";
        if (t == typeof(ulong)) return "uint64";
        if (t == typeof(uint)) return "uint32";
        if (t == typeof(ushort)) return "uint16";
        if (t == typeof(byte)) return "uint8";
        if (t == typeof(bool)) return "bool";
        return t.Name.ToLowerInvariant();
    }
}
