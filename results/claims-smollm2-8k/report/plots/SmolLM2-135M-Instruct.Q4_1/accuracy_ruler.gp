# Written by `starattn report`; re-plot with: gnuplot accuracy_ruler.gp (writes accuracy_ruler.png and accuracy_ruler.svg)
set terminal pngcairo size 960,560 font "sans,11" noenhanced
set output "accuracy_ruler.png"
set datafile separator "\t"
set datafile missing "?"
set title "SmolLM2-135M-Instruct.Q4_1: RULER avg of 11 tasks (all but qa_1, qa_2) vs context length" font ",13"
set grid ytics lc rgb "#d0d0d0"
set border 3
set tics nomirror
set logscale x 2
set xrange [5461.3333:12288.0000]
set xlabel "context length (tokens)"
set ylabel "RULER avg of 11 tasks (all but qa_1, qa_2) accuracy (%)"
set yrange [0:105]
set key outside right center box opaque width 1 title "attention"
plot "accuracy_ruler.dat" using 1:3:xtic(2) with linespoints lw 5 pt 7 ps 2.2 dt 1 lc rgb "#000000" title "dense", \
     "accuracy_ruler.dat" using 1:4 with linespoints lw 2 pt 5 ps 1.4 dt 1 lc rgb "#d62728" title "star-h4-b4-first"
set terminal svg size 960,560 dynamic font "sans,11" noenhanced
set output "accuracy_ruler.svg"
replot
set output
