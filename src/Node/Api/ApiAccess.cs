using System.Security.Claims;
using EventCluster.Node.Security;

namespace EventCluster.Node.Api;

/// <summary>The scope an endpoint requires, as endpoint metadata (<see cref="ApiAccess.RequireScope{TBuilder}"/>).</summary>
/// <param name="Scope">The scope.</param>
public sealed record RequiredScope(ApiScope Scope);

/// <summary>Marks an endpoint that also accepts a stream ticket in its <c>ticket</c> query parameter.</summary>
public sealed record AcceptsStreamTicket;

/// <summary>
/// Who may call what. Every <c>/api</c> endpoint declares its scope with
/// <see cref="RequireScope{TBuilder}"/>; when the node has tokens, a request without a known one
/// gets 401 and one whose token lacks the scope 403. An <c>/api</c> endpoint that declares no
/// scope is refused outright, so a new endpoint cannot be open by omission.
/// </summary>
public static class ApiAccess
{
    /// <summary>The query parameter that carries a stream ticket.</summary>
    public const string TicketParameter = "ticket";

    /// <summary>The claim type that carries each of the caller's scopes.</summary>
    public const string ScopeClaim = "eventcluster:scope";

    /// <summary>Requires <paramref name="scope"/> of the caller's token (when the node has tokens).</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, ApiScope scope) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredScope(scope));

    /// <summary>Lets a stream ticket (<c>?ticket=</c>) stand for the token on this endpoint.</summary>
    public static TBuilder AcceptStreamTicket<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AcceptsStreamTicket());

    /// <summary>
    /// Adds the check: after routing (the endpoint and its metadata are known), before the rate
    /// limiter (a refused caller takes no stream permit).
    /// </summary>
    public static WebApplication UseApiAccess(this WebApplication app)
    {
        app.UseRouting();
        app.Use((http, next) => Refusal(http) is { } refused ? refused.ExecuteAsync(http) : next(http));
        return app;
    }

    /// <summary>The bearer token of the request's <c>Authorization</c> header, or null.</summary>
    public static string? BearerToken(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        return header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : null;
    }

    /// <summary>The answer refusing the request, or null when it may go on (its caller then set as the request's user).</summary>
    private static IResult? Refusal(HttpContext http)
    {
        var endpoint = http.GetEndpoint();
        var required = endpoint?.Metadata.GetMetadata<RequiredScope>();
        if (required is null)
        {
            // The 405 endpoint routing makes for a known path carries no method metadata: let it answer.
            var declared = endpoint?.Metadata.GetMetadata<IHttpMethodMetadata>() is not null;
            return declared && http.Request.Path.StartsWithSegments("/api")
                ? ApiResults.Problem(StatusCodes.Status500InternalServerError, "route without a scope",
                    $"{http.Request.Path} declares no access scope; it is refused until it does")
                : null;
        }

        var options = http.RequestServices.GetRequiredService<ApiOptions>();
        if (!options.Tokens.Required)
            return null;
        var (name, scopes) = Caller(http, options, endpoint!.Metadata.GetMetadata<AcceptsStreamTicket>() is not null);
        if (name is null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return ApiResults.Problem(StatusCodes.Status401Unauthorized, "a token is required",
                $"{http.Request.Path} needs 'Authorization: Bearer <token>' with the {ApiTokens.Describe(required.Scope)} scope; " +
                "this node's tokens come from --api-tokens or --api-token");
        }

        if ((scopes & required.Scope) != required.Scope)
            return ApiResults.Problem(StatusCodes.Status403Forbidden, "scope missing",
                $"the token '{name}' has the scopes [{ApiTokens.Describe(scopes)}]; {http.Request.Method} {http.Request.Path} needs {ApiTokens.Describe(required.Scope)}");
        http.User = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, name), .. Enum.GetValues<ApiScope>().Where(s => s is ApiScope.Read or ApiScope.Write or ApiScope.Admin && scopes.HasFlag(s))
                .Select(s => new Claim(ScopeClaim, ApiTokens.Describe(s)))],
            "Bearer"));
        return null;
    }

    private static (string? Name, ApiScope Scopes) Caller(HttpContext http, ApiOptions options, bool ticketAccepted)
    {
        if (options.Tokens.Find(BearerToken(http)) is { } entry)
            return (entry.Name, entry.Scopes);
        if (ticketAccepted && http.Request.Query[TicketParameter] is { Count: 1 } ticket &&
            http.RequestServices.GetRequiredService<StreamTickets>().Validate(ticket[0]) is { } valid)
            return valid;
        return (null, ApiScope.None);
    }
}
