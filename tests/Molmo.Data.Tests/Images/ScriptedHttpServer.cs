using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Molmo.Data.Tests.Images;

/// <summary>One scripted reply of <see cref="ScriptedHttpServer"/>.</summary>
public sealed record Reply(int Status, byte[] Body, int DelayMs = 0, int? DeclaredLength = null, string? ExtraHeaders = null)
{
    public static Reply Ok(byte[] body) => new(200, body);
    public static Reply Error(int status, string? headers = null) => new(status, Encoding.ASCII.GetBytes($"error {status}"), ExtraHeaders: headers);
    public static Reply Slow(byte[] body, int delayMs) => new(200, body, delayMs);

    /// <summary>Declares the full length but sends only the first half, then closes the connection.</summary>
    public static Reply Truncated(byte[] body) => new(200, body[..(body.Length / 2)], DeclaredLength: body.Length);
}

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1 (raw TcpListener) that answers each path from a script: the n-th request to a
/// path gets the n-th reply (the last reply repeats). It counts requests and the largest number in flight at once,
/// and shuts itself down after <c>lifetime</c> even if the test forgets to dispose it.
/// </summary>
public sealed class ScriptedHttpServer : IDisposable
{
    readonly TcpListener _listener;
    readonly CancellationTokenSource _stop;
    readonly ConcurrentDictionary<string, Reply[]> _scripts = new();
    readonly ConcurrentDictionary<string, int> _hits = new();
    readonly Task _loop;
    int _inFlight, _maxInFlight;

    public ScriptedHttpServer(TimeSpan? lifetime = null)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _stop = new CancellationTokenSource(lifetime ?? TimeSpan.FromSeconds(60));
        _stop.Token.Register(() => _listener.Stop());
        _loop = Task.Run(AcceptLoop);
    }

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Scripts <paramref name="path"/> and returns its full URL.</summary>
    public string Script(string path, params Reply[] replies)
    {
        _scripts[path] = replies;
        return BaseUrl + path;
    }

    public int Hits(string path) => _hits.GetValueOrDefault(path);
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch { return; }
            _ = Task.Run(() => Serve(client));
        }
    }

    async Task Serve(TcpClient client)
    {
        int now = Interlocked.Increment(ref _inFlight);
        int seen;
        while ((seen = Volatile.Read(ref _maxInFlight)) < now && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen) { }
        try
        {
            using (client)
            {
                var stream = client.GetStream();
                var path = await ReadRequestPath(stream);
                if (path is null) return;
                int n = _hits.AddOrUpdate(path, 1, (_, v) => v + 1);
                var script = _scripts.GetValueOrDefault(path) ?? [Reply.Error(404)];
                var reply = script[Math.Min(n, script.Length) - 1];
                if (reply.DelayMs > 0)
                {
                    try { await Task.Delay(reply.DelayMs, _stop.Token); } catch (OperationCanceledException) { return; }
                }
                var head = $"HTTP/1.1 {reply.Status} {(reply.Status == 200 ? "OK" : "Scripted")}\r\n" +
                           $"Content-Length: {reply.DeclaredLength ?? reply.Body.Length}\r\nContent-Type: application/octet-stream\r\n" +
                           $"Connection: close\r\n{reply.ExtraHeaders}\r\n";
                try
                {
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
                    await stream.WriteAsync(reply.Body, _stop.Token);
                    await stream.FlushAsync(_stop.Token);
                }
                catch (Exception e) when (e is IOException or OperationCanceledException or SocketException) { }
            }
        }
        finally { Interlocked.Decrement(ref _inFlight); }
    }

    static async Task<string?> ReadRequestPath(NetworkStream stream)
    {
        var buffer = new byte[8192];
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total));
            if (n == 0) return null;
            total += n;
            var text = Encoding.ASCII.GetString(buffer, 0, total);
            if (text.Contains("\r\n\r\n"))
            {
                var parts = text[..text.IndexOf("\r\n", StringComparison.Ordinal)].Split(' ');
                return parts.Length >= 2 ? parts[1] : null;
            }
        }
        return null;
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
