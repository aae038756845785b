# Written by `starattn report`; re-plot with: gnuplot delta_star-h4-b4-previous.gp (writes delta_star-h4-b4-previous.png and delta_star-h4-b4-previous.svg)
set terminal pngcairo size 1500,600 font "sans,11" noenhanced
set output "delta_star-h4-b4-previous.png"
set datafile separator "\t"
set datafile missing "?"
set title "SmolLM2-135M-Instruct.Q4_1: star-h4-b4-previous minus dense, accuracy per task (95% CI)" font ",13"
set grid ytics lc rgb "#d0d0d0"
set border 3
set tics nomirror
set style fill solid 0.75 border rgb "#333333"
set boxwidth 0.8000 absolute
set xtics ("niah_single_1" 0, "niah_single_2" 1, "niah_single_3" 2, "niah_multikey_1" 3, "niah_multikey_2" 4, "niah_multikey_3" 5, "niah_multivalue" 6, "niah_multiquery" 7, "vt" 8, "cwe" 9, "fwe" 10, "qa1" 11, "qa2" 12, "qa3" 13, "qa4" 14, "qa5" 15, "RULER avg of 11 tasks (all but qa_1, qa_2)" 16, "BABILong avg of all 5 tasks" 17) rotate by -35 left
set xrange [-0.6:17.6000]
set xzeroaxis lt -1 lw 1.5
set yrange [-60.6000:20.6000]
set ylabel "accuracy delta, star-h4-b4-previous - dense (points)"
set xlabel "task"
set key outside right top box opaque width 1 title "length"
set rmargin 14
set bmargin 12
plot "delta_star-h4-b4-previous.dat" using ($0+0.0000):2 with boxes lc rgb "#4c72b0" title "4k", \
     "delta_star-h4-b4-previous.dat" using ($0+0.0000):2:3:4 with yerrorbars lw 1.5 lc rgb "#333333" ps 0 notitle
set terminal svg size 1500,600 dynamic font "sans,11" noenhanced
set output "delta_star-h4-b4-previous.svg"
replot
set output
