namespace Cluster.Coordinator.Contracts;

/// <summary>Outcome of one long-poll for an assignment.</summary>
public enum AssignmentStatus
{
    /// <summary>The member has a rank in the current generation.</summary>
    Assigned = 0,
    /// <summary>No generation yet within the wait; poll again.</summary>
    Timeout = 1,
    /// <summary>A generation started without this member (node incomplete or above max workers).</summary>
    NotAdmitted = 2,
    /// <summary>The job is terminal; the member must exit.</summary>
    Aborted = 3,
    /// <summary>The job does not exist.</summary>
    Unknown = 4,
    /// <summary>The job does not know this member: it never joined, or the coordinator restarted before the join was
    /// persisted (waiting members are not written one by one). The member joins again.</summary>
    NotJoined = 5,
}
