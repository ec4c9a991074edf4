using System.Collections.Immutable;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Molmo.Tests.Runtime;

/// <summary>
/// Finds, in an assembly's IL, the calls that hand libtorch a TorchSharp <c>Scalar</c> nobody keeps alive: a number converted
/// to a <c>Scalar</c> at the call site (<c>op_Implicit</c>, <c>ToScalar</c>), or a call to a TorchSharp method that makes such
/// a temporary itself, directly or through the TorchSharp methods it calls (<c>a + b</c> passes <c>alpha = 1</c> that way).
/// docs/engine.md, "Scalars and the garbage collector".
/// </summary>
internal static class ScalarTemporaries
{
    /// <summary>"Type::Method: what" for each such call in <paramref name="assemblyPath"/>, outside the type
    /// <paramref name="allowedType"/> (the one place that makes Scalars on purpose).</summary>
    public static List<string> Find(string assemblyPath, string torchSharpPath, string allowedType)
    {
        var unsafeInTorchSharp = UnsafeTorchSharpMethods(torchSharpPath);
        var found = new List<string>();
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        var names = new Names(md);
        foreach (var th in md.TypeDefinitions)
        {
            string type = names.Of(th);
            if (type == allowedType || type.StartsWith(allowedType + "/", StringComparison.Ordinal)) continue;
            foreach (var mh in md.GetTypeDefinition(th).GetMethods())
            {
                var m = md.GetMethodDefinition(mh);
                if (m.RelativeVirtualAddress == 0) continue;
                foreach (var callee in Calls(pe.GetMethodBody(m.RelativeVirtualAddress)))
                {
                    if (Reference(md, names, callee) is not { } key) continue;
                    if (IsConversion(key)) found.Add($"{type}::{md.GetString(m.Name)}: converts a number to a Scalar ({key})");
                    else if (unsafeInTorchSharp.Contains(key)) found.Add($"{type}::{md.GetString(m.Name)}: calls {key}, which makes a Scalar temporary");
                }
            }
        }
        return found;
    }

    static bool IsConversion(string key) =>
        key.StartsWith("TorchSharp.Scalar::op_Implicit(", StringComparison.Ordinal) || key.StartsWith("TorchSharp.ScalarExtensionMethods::ToScalar(", StringComparison.Ordinal);

    /// <summary>Keys of the TorchSharp methods that convert a number to a Scalar, or call one that does (to a fixed point).</summary>
    static HashSet<string> UnsafeTorchSharpMethods(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var md = pe.GetMetadataReader();
        var names = new Names(md);
        var callers = new Dictionary<string, List<string>>();
        var result = new HashSet<string>();
        var work = new Queue<string>();
        foreach (var th in md.TypeDefinitions)
            foreach (var mh in md.GetTypeDefinition(th).GetMethods())
            {
                var m = md.GetMethodDefinition(mh);
                if (m.RelativeVirtualAddress == 0) continue;
                string self = names.Key(mh);
                if (IsConversion(self)) continue;   // the conversions themselves are flagged at their callers
                foreach (var callee in Calls(pe.GetMethodBody(m.RelativeVirtualAddress)))
                {
                    if (Reference(md, names, callee) is not { } key) continue;
                    if (IsConversion(key)) { if (result.Add(self)) work.Enqueue(self); }
                    else (callers.TryGetValue(key, out var l) ? l : callers[key] = []).Add(self);
                }
            }
        while (work.Count > 0)
            if (callers.TryGetValue(work.Dequeue(), out var those))
                foreach (var c in those) if (result.Add(c)) work.Enqueue(c);
        return result;
    }

    /// <summary>The method tokens that <paramref name="body"/> calls, creates with, or takes a pointer to.</summary>
    static IEnumerable<EntityHandle> Calls(MethodBodyBlock body)
    {
        var il = body.GetILReader();
        var result = new List<EntityHandle>();
        while (il.RemainingBytes > 0)
        {
            int op = il.ReadByte();
            if (op == 0xFE)
            {
                int op2 = il.ReadByte();
                switch (op2)
                {
                    case 0x06: case 0x07: result.Add(MetadataTokens.EntityHandle(il.ReadInt32())); break;   // ldftn, ldvirtftn
                    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x0E: il.ReadInt16(); break;  // arg/local ops
                    case 0x12: case 0x19: il.ReadByte(); break;                                                // unaligned., no.
                    case 0x15: case 0x16: case 0x1C: il.ReadInt32(); break;                                    // initobj, constrained., sizeof (token)
                }
                continue;
            }
            switch (op)
            {
                case 0x28: case 0x6F: case 0x73: result.Add(MetadataTokens.EntityHandle(il.ReadInt32())); break; // call, callvirt, newobj
                case 0x20: case 0x22: il.ReadInt32(); break;                       // ldc.i4, ldc.r4
                case 0x21: case 0x23: il.ReadInt64(); break;                       // ldc.i8, ldc.r8
                case 0x45: { int n = il.ReadInt32(); for (int i = 0; i < n; i++) il.ReadInt32(); break; }   // switch
                case >= 0x0E and <= 0x13: case 0x1F: case >= 0x2B and <= 0x37: case 0xDE: il.ReadByte(); break;   // short forms
                case >= 0x38 and <= 0x44: case 0xDD: il.ReadInt32(); break;        // branches, leave
                case 0x27: case 0x29: case 0x70: case 0x71: case 0x72: case 0x74: case 0x75: case 0x79: case 0x7B:
                case 0x7C: case 0x7D: case 0x7E: case 0x7F: case 0x80: case 0x81: case 0x8C: case 0x8D: case 0x8F:
                case 0xA3: case 0xA4: case 0xA5: case 0xC2: case 0xC6: case 0xD0:
                    il.ReadInt32(); break;                                         // token operands
            }
        }
        return result;
    }

    /// <summary>"Type::Name(params)" of a method token, for methods and member references (null for fields).</summary>
    static string? Reference(MetadataReader md, Names names, EntityHandle h)
    {
        if (h.Kind == HandleKind.MethodSpecification) h = md.GetMethodSpecification((MethodSpecificationHandle)h).Method;
        if (h.Kind == HandleKind.MethodDefinition) return names.Key((MethodDefinitionHandle)h);
        if (h.Kind != HandleKind.MemberReference) return null;
        var mr = md.GetMemberReference((MemberReferenceHandle)h);
        if (mr.GetKind() != MemberReferenceKind.Method) return null;
        string parent = mr.Parent.Kind switch
        {
            HandleKind.TypeReference => names.Of((TypeReferenceHandle)mr.Parent),
            HandleKind.TypeDefinition => names.Of((TypeDefinitionHandle)mr.Parent),
            HandleKind.TypeSpecification => md.GetTypeSpecification((TypeSpecificationHandle)mr.Parent).DecodeSignature(names, null).Split('<')[0],
            _ => "?",
        };
        return $"{parent}::{md.GetString(mr.Name)}({string.Join(",", mr.DecodeMethodSignature(names, null).ParameterTypes)})";
    }

    /// <summary>Type names as "Namespace.Outer/Inner", the same for definitions and references.</summary>
    sealed class Names(MetadataReader md) : ISignatureTypeProvider<string, object?>
    {
        public string Of(TypeDefinitionHandle h)
        {
            var t = md.GetTypeDefinition(h);
            var declaring = t.GetDeclaringType();
            return declaring.IsNil ? Join(md.GetString(t.Namespace), md.GetString(t.Name)) : $"{Of(declaring)}/{md.GetString(t.Name)}";
        }

        public string Of(TypeReferenceHandle h)
        {
            var t = md.GetTypeReference(h);
            return t.ResolutionScope.Kind == HandleKind.TypeReference
                ? $"{Of((TypeReferenceHandle)t.ResolutionScope)}/{md.GetString(t.Name)}"
                : Join(md.GetString(t.Namespace), md.GetString(t.Name));
        }

        public string Key(MethodDefinitionHandle h)
        {
            var m = md.GetMethodDefinition(h);
            return $"{Of(m.GetDeclaringType())}::{md.GetString(m.Name)}({string.Join(",", m.DecodeSignature(this, null).ParameterTypes)})";
        }

        static string Join(string ns, string name) => ns.Length == 0 ? name : $"{ns}.{name}";

        public string GetTypeFromDefinition(MetadataReader r, TypeDefinitionHandle h, byte kind) => Of(h);
        public string GetTypeFromReference(MetadataReader r, TypeReferenceHandle h, byte kind) => Of(h);
        public string GetTypeFromSpecification(MetadataReader r, object? c, TypeSpecificationHandle h, byte kind) => r.GetTypeSpecification(h).DecodeSignature(this, c);
        public string GetPrimitiveType(PrimitiveTypeCode code) => code.ToString();
        public string GetSZArrayType(string e) => e + "[]";
        public string GetArrayType(string e, ArrayShape s) => $"{e}[{new string(',', s.Rank - 1)}]";
        public string GetByReferenceType(string e) => e + "&";
        public string GetPointerType(string e) => e + "*";
        public string GetPinnedType(string e) => e;
        public string GetGenericInstantiation(string g, ImmutableArray<string> args) => $"{g}<{string.Join(",", args)}>";
        public string GetGenericTypeParameter(object? c, int i) => $"!{i}";
        public string GetGenericMethodParameter(object? c, int i) => $"!!{i}";
        public string GetFunctionPointerType(MethodSignature<string> s) => "fnptr";
        public string GetModifiedType(string modifier, string unmodified, bool required) => unmodified;
        public string GetTypeFromSerializedName(string name) => name;
        public PrimitiveTypeCode GetUnderlyingEnumType(string type) => PrimitiveTypeCode.Int32;
        public bool IsSystemType(string type) => type == "System.Type";
    }
}
