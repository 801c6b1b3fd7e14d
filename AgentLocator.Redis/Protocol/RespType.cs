namespace AgentLocator.Redis.Protocol;

/// <summary>The RESP2 and RESP3 reply types, named after the protocol specification.</summary>
public enum RespType : byte
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,
    Null,
    Double,
    Boolean,
    BigNumber,
    BulkError,
    VerbatimString,
    Map,
    Set,
    Push,
}
