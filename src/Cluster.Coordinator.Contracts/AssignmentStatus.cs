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
    /// <summary>The member id never joined (or the job does not exist).</summary>
    Unknown = 4,
}
