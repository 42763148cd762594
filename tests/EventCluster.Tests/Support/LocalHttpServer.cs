using System.Net;

namespace EventCluster.Tests.Support;

/// <summary>
/// A real HTTP server on a free port of this machine: each request is read whole and handed, with
/// its body, to a handler, which answers it. Requests are served concurrently.
/// </summary>
public sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, byte[], Task> _handle;
    private readonly Task _serving;

    /// <summary>Starts listening; <paramref name="handle"/> answers each request.</summary>
    public LocalHttpServer(Func<HttpListenerContext, byte[], Task> handle)
    {
        _handle = handle;
        Port = FreePorts.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary>The server's base address, without a trailing slash.</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    /// <inheritdoc />
    public void Dispose()
    {
        // Close alone: after Stop, Close looks the port's listener up again and, not finding it,
        // binds the port anew, which fails when another process has taken it meanwhile.
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                await _handle(context, body.ToArray());
            });
        }
    }
}
