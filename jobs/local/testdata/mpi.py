# Each rank of an mpirun adds rank+1 with allreduce; rank 0 prints the sum.
from mpi4py import MPI

comm = MPI.COMM_WORLD
n = comm.Get_size()
s = comm.allreduce(comm.Get_rank() + 1, op=MPI.SUM)
assert s == n * (n + 1) // 2, (s, n)
if comm.Get_rank() == 0:
    print(f"ranks={n} sum={s}", flush=True)
